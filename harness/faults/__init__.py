"""Faults: a registry of small classes (see ``registry.py`` and ``docs/creating-faults.md``)."""

from harness.faults.base import Fault, FaultContext, Params, Undo
from harness.faults.registry import fault_kinds, get_fault, register

__all__ = ["Fault", "FaultContext", "Params", "Undo", "fault_kinds", "get_fault", "register"]
