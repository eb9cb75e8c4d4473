"""Reading one YAML input file without trusting it: bytes -> data, every key's line.

A scenario or pipeline file may be hostile or simply broken, so ``read_yaml`` checks,
in this order, before anything walks the document::

    bytes     a regular file of at most MAX_BYTES (1 MiB); a FIFO or device is refused
    text      UTF-8 (a UTF-8 byte-order mark is fine); UTF-16/32, NUL bytes or bytes
              that do not decode are refused with their line
    nodes     composed here from the parser's events, in one loop without recursion:
              at most MAX_DEPTH (32) nested collections, at most MAX_VALUES (10,000)
              values counting every alias expansion (an alias bomb stops at the
              limit, it never grows), no recursive alias, no duplicate key, one document
    data      PyYAML's safe constructor on those nodes; a scalar it cannot convert
              (a 5,000-digit int, 2001-13-45) is refused with its line

Every refusal is an :class:`~harness.errors.InvalidScenario` with one located problem::

    >>> read_yaml(Path("scenarios/game-day.yaml")).data["name"]  # doctest: +SKIP
    'game-day'
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.resolver import Resolver

from harness.errors import InvalidScenario, Problem

MAX_BYTES = 1 << 20
"""Largest input file read, in bytes (1 MiB; a scenario is a few KB)."""
MAX_DEPTH = 32
"""Deepest nesting of mappings and lists (a scenario needs 6)."""
MAX_VALUES = 10_000
"""Most values (scalars and collections, every alias expansion counted) in one file."""

Loc = tuple[Any, ...]
_Parser = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BOMS = ((b"\x00\x00\xfe\xff", "UTF-32"), (b"\xff\xfe\x00\x00", "UTF-32"),
         (b"\xfe\xff", "UTF-16"), (b"\xff\xfe", "UTF-16"))
_MERGE = "tag:yaml.org,2002:merge"
_TOO_DEEP = f"nested more than {MAX_DEPTH} levels deep; a scenario needs a handful"


@dataclass(frozen=True)
class YamlDocument:
    """A file's data and the line (1-based) of every key path, for located errors."""

    path: Path
    data: Any
    lines: dict[Loc, int]

    def line_of(self, loc: Loc) -> int | None:
        """The line of ``loc``, else of its nearest ancestor that has one."""
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get(())


def read_yaml(path: str | Path) -> YamlDocument:
    """Read and parse one YAML file within the limits above; raise InvalidScenario."""
    path = Path(path)
    node = _compose(path, _events(path, _text(path, _bytes(path))))
    data = _construct(path, node)
    lines: dict[Loc, int] = {}
    if node is not None:
        _index_lines(node, (), lines)
    return YamlDocument(path, data, lines)


def _refuse(path: Path, line: int | None, message: str) -> InvalidScenario:
    return InvalidScenario([Problem(str(path), line, "", message)])


def _bytes(path: Path) -> bytes:
    data = b""
    try:
        info = os.stat(path)
        regular = stat.S_ISREG(info.st_mode)
        if regular and info.st_size <= MAX_BYTES:
            with open(path, "rb") as handle:
                data = handle.read(MAX_BYTES + 1)
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise _refuse(path, None, f"cannot read file: {getattr(exc, 'strerror', None) or exc}") from None
    if not regular:
        raise _refuse(path, None, "not a regular file (a directory, FIFO or device?)")
    if info.st_size > MAX_BYTES or len(data) > MAX_BYTES:  # (or it grew while we read)
        raise _refuse(path, None, f"file is over the 1 MiB limit ({max(info.st_size, len(data)):,} "
                      f"bytes); a scenario is a few KB")
    return data


def _text(path: Path, data: bytes) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            raise _refuse(path, 1, f"file is {encoding} encoded; save it as UTF-8")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise _refuse(path, line, f"not UTF-8 text: byte 0x{data[exc.start]:02x} cannot be "
                      f"decoded (a binary file?); save it as UTF-8") from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise _refuse(path, line, "contains NUL bytes: not a text file (binary, or UTF-16 "
                      "without a byte-order mark?); save it as UTF-8")
    return text


def _events(path: Path, text: str) -> Iterable[yaml.Event]:
    try:
        yield from yaml.parse(text, Loader=_Parser)
    except yaml.reader.ReaderError as exc:  # a control character: no mark, a position
        line = text.count("\n", 0, exc.position) + 1
        shown = f"#x{exc.character:04x}" if isinstance(exc.character, int) else repr(exc.character)
        raise _refuse(path, line, f"invalid YAML: character {shown} is not allowed "
                      f"({exc.reason})") from None
    except yaml.YAMLError as exc:
        raise _yaml_problem(path, exc) from None


def _yaml_problem(path: Path, exc: yaml.YAMLError) -> InvalidScenario:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark is not None else None
    reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if "maximum nesting depth" in reason:  # libyaml's own limit (1,000), met before ours
        return _refuse(path, line, _TOO_DEEP)
    return _refuse(path, line, f"invalid YAML: {reason}")


@dataclass
class _Open:
    """A collection being composed: its node, values so far, a key awaiting its value."""

    node: yaml.Node
    size: int = 1
    key: yaml.Node | None = None


class _Composer:
    """Builds the node graph from parser events, counting depth and expanded values."""

    def __init__(self, path: Path):
        self.path = path
        self.anchors: dict[str, yaml.Node] = {}
        self.sizes: dict[int, int] = {}
        """Expanded values under each *finished* node (an alias to an open one recurses)."""
        self.open: list[_Open] = []
        self.resolver = Resolver()
        self.root: yaml.Node | None = None

    def refuse(self, event: yaml.Event, message: str) -> InvalidScenario:
        return _refuse(self.path, event.start_mark.line + 1, message)

    def feed(self, event: yaml.Event) -> None:
        """Take the next parser event; raise InvalidScenario at the first limit crossed."""
        if isinstance(event, yaml.DocumentStartEvent) and self.root is not None:
            raise self.refuse(event, "a second YAML document (---); a file holds one")
        if isinstance(event, yaml.CollectionEndEvent):
            done = self.open.pop()
            done.node.end_mark = event.end_mark
            if isinstance(done.node, yaml.MappingNode):
                self._no_duplicate_keys(done.node)
            self.sizes[id(done.node)] = done.size
            self._attach(done.node, done.size)
        elif isinstance(event, yaml.AliasEvent):
            node = self.anchors.get(event.anchor)
            if node is None:
                raise self.refuse(event, f"invalid YAML: alias *{event.anchor} names no anchor")
            if id(node) not in self.sizes:
                raise self.refuse(event, f"recursive alias *{event.anchor}: it contains itself")
            self._attach(node, self.sizes[id(node)])
        elif isinstance(event, (yaml.ScalarEvent, yaml.CollectionStartEvent)):
            self._start(event)

    def _start(self, event: yaml.NodeEvent) -> None:
        kind = (yaml.ScalarNode if isinstance(event, yaml.ScalarEvent) else
                yaml.SequenceNode if isinstance(event, yaml.SequenceStartEvent) else yaml.MappingNode)
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.resolver.resolve(kind, getattr(event, "value", None), event.implicit)
        if kind is yaml.ScalarNode:
            node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=event.style)
        else:
            node = kind(tag, [], event.start_mark, None, flow_style=event.flow_style)
        if event.anchor is not None:
            if event.anchor in self.anchors:
                raise self.refuse(event, f"invalid YAML: anchor &{event.anchor} defined twice")
            self.anchors[event.anchor] = node
        if kind is yaml.ScalarNode:
            self.sizes[id(node)] = 1
            self._attach(node, 1)
        elif len(self.open) >= MAX_DEPTH:
            raise self.refuse(event, _TOO_DEEP)
        else:
            self.open.append(_Open(node))

    def _attach(self, node: yaml.Node, size: int) -> None:
        if not self.open:
            self.root = node
            return
        parent = self.open[-1]
        parent.size += size
        if parent.size > MAX_VALUES:
            raise _refuse(self.path, parent.node.start_mark.line + 1,
                          f"more than {MAX_VALUES:,} values under this line (aliases "
                          f"expanded); a scenario has a few hundred")
        if isinstance(parent.node, yaml.SequenceNode):
            parent.node.value.append(node)
        elif parent.key is None:
            parent.key = node
        else:
            parent.node.value.append((parent.key, node))
            parent.key = None

    def _no_duplicate_keys(self, node: yaml.MappingNode) -> None:
        seen: dict[tuple[str, str], int] = {}
        for key, _ in node.value:
            if not isinstance(key, yaml.ScalarNode) or key.tag == _MERGE:
                continue
            line = key.start_mark.line + 1
            if (key.tag, key.value) in seen:
                raise _refuse(self.path, line, f"duplicate key {key.value!r} (first at line "
                              f"{seen[key.tag, key.value]}); YAML would keep only the last")
            seen[key.tag, key.value] = line


def _compose(path: Path, events: Iterable[yaml.Event]) -> yaml.Node | None:
    composer = _Composer(path)
    for event in events:
        composer.feed(event)
    return composer.root


class _Constructor(SafeConstructor):
    """PyYAML's safe constructor, turning a scalar it cannot convert into a located error."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError, TypeError) as exc:
            raise ConstructorError(None, None, f"cannot read {node.value!r}: {exc}"
                                   if isinstance(node, yaml.ScalarNode) else str(exc),
                                   node.start_mark) from None


def _construct(path: Path, node: yaml.Node | None) -> Any:
    if node is None:
        return None
    try:
        return _Constructor().construct_document(node)
    except yaml.YAMLError as exc:
        raise _yaml_problem(path, exc) from None
    except RecursionError:  # a long chain of merge keys (<<) is flattened recursively
        raise _refuse(path, node.start_mark.line + 1, "merge keys (<<) nested too deeply") from None


def _index_lines(node: yaml.Node, loc: Loc, lines: dict[Loc, int]) -> None:
    """Record the line of every key path; bounded, as the composer bounded the graph."""
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                continue
            child = loc + (key.value,)
            _index_lines(value, child, lines)
            lines[child] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index_lines(item, loc + (i,), lines)
