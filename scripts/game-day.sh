#!/usr/bin/env bash
# Quickstart 1: run the default game-day scenario on the embedded backend, end with a report.
source "$(dirname "$0")/_venv.sh"
exec chaos-harness run "${1:-scenarios/game-day.yaml}" --backend "${CHAOS_BACKEND:-process}"
