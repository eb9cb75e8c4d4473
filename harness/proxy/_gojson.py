"""Go ``encoding/json`` compatibility: decode like ``json.NewDecoder(r).Decode``,
encode like ``json.Marshal``.

Why: Toxiproxy clients (the Go client tests above all) compare error texts such as
``bad request body: invalid character 'b' looking for beginning of object key string``
or ``json: cannot unmarshal number 1.5 into Go struct field LatencyToxic.attributes.latency
of type int64``. Python's ``json`` module accepts other inputs (NaN, deep nesting up to a
RecursionError) and words its errors differently, so this module

1. scans the *first* JSON value of the body with Go's grammar and Go's messages
   (trailing bytes after the first value are ignored, as ``Decoder.Decode`` does);
2. parses that slice with :mod:`json`, keeping object key order and duplicate keys and
   the literal text of non-integer numbers;
3. assigns it onto typed, Go-like struct schemas (:class:`Struct`), matching keys
   case-insensitively, leaving defaults on ``null``, continuing after a type error and
   reporting the first one, exactly like ``encoding/json``.

Example::

    >>> value = decode(b'{"latency": 1.5}')
    >>> assign(value, LATENCY_SCHEMA, {...})   # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import re
import struct
from dataclasses import dataclass
from typing import Any

__all__ = [
    "GoJSONError",
    "GoFloat",
    "Obj",
    "Struct",
    "STRING",
    "BOOL",
    "INT64",
    "FLOAT32",
    "ANY_OBJECT",
    "decode",
    "assign_struct",
    "assign_top",
    "dumps_str",
    "format_float32",
    "to_float32",
]

#: Nesting deeper than this is refused (Go allows 10000; Python's parser would hit
#: its recursion limit far earlier). Message text is Go's.
MAX_DEPTH = 500
_WS = b" \t\r\n"
_DIGITS = b"0123456789"
_HEX = b"0123456789abcdefABCDEF"


class GoJSONError(ValueError):
    """A decode failure carrying Go's error text (``str(err)``)."""


class GoFloat(float):
    """A JSON number that is not an int64 literal (a fraction, an exponent, or more
    than 20 characters); keeps its source text for Go's error messages."""

    literal: str

    def __new__(cls, text: str) -> "GoFloat":
        try:
            value = float(text)
        except OverflowError:  # pragma: no cover - float() returns inf instead
            value = math.inf
        self = super().__new__(cls, value)
        self.literal = text
        return self


class Obj(list):
    """A JSON object as an ordered list of ``(key, value)`` pairs (duplicates kept)."""


# --------------------------------------------------------------------------- scanner


def _quote_char(c: int) -> str:
    if c == 0x27:
        return "'\\''"
    if c == 0x22:
        return "'\"'"
    s = json.dumps(chr(c), ensure_ascii=False)[1:-1] if c >= 0x20 else _go_ctrl(c)
    if c == 0x7F:
        s = "\\x7f"
    return "'" + s + "'"


def _go_ctrl(c: int) -> str:
    return {0x07: "\\a", 0x08: "\\b", 0x0C: "\\f", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x0B: "\\v"}.get(
        c, "\\x%02x" % c
    )


class _Eof(Exception):
    pass


def _bad(c: int, context: str) -> GoJSONError:
    return GoJSONError(f"invalid character {_quote_char(c)} {context}")


def _scan(b: bytes, i: int) -> int:
    """Return the end offset of the JSON value starting at ``b[i]`` (no leading space).

    Raises :class:`GoJSONError` (syntax) or :class:`_Eof` (input ended inside the value).
    Iterative: the container stack is explicit, so hostile nesting cannot recurse.
    """
    n = len(b)
    stack: list[int] = []  # 0x7B '{' or 0x5B '['
    while True:
        # --- expect a value at b[i]
        while i < n and b[i] in _WS:
            i += 1
        if i >= n:
            raise _Eof
        c = b[i]
        if c == 0x7B or c == 0x5B:
            if len(stack) >= MAX_DEPTH:
                raise GoJSONError("exceeded max depth")
            stack.append(c)
            i += 1
            while i < n and b[i] in _WS:
                i += 1
            if i >= n:
                raise _Eof
            if c == 0x7B:
                if b[i] == 0x7D:
                    stack.pop()
                    i += 1
                else:
                    i = _object_key(b, i)
                    continue
            else:
                if b[i] == 0x5D:
                    stack.pop()
                    i += 1
                else:
                    continue
        elif c == 0x22:
            i = _string(b, i)
        elif c == 0x2D or c in _DIGITS:
            i = _number(b, i)
        elif c == 0x74:
            i = _literal(b, i, b"true")
        elif c == 0x66:
            i = _literal(b, i, b"false")
        elif c == 0x6E:
            i = _literal(b, i, b"null")
        else:
            raise _bad(c, "looking for beginning of value")
        # --- a value ended: close containers / move to next element
        while True:
            if not stack:
                return i
            while i < n and b[i] in _WS:
                i += 1
            if i >= n:
                raise _Eof
            c = b[i]
            top = stack[-1]
            if top == 0x7B:
                if c == 0x2C:
                    i += 1
                    while i < n and b[i] in _WS:
                        i += 1
                    if i >= n:
                        raise _Eof
                    i = _object_key(b, i)
                    break
                if c == 0x7D:
                    stack.pop()
                    i += 1
                    continue
                raise _bad(c, "after object key:value pair")
            if c == 0x2C:
                i += 1
                break
            if c == 0x5D:
                stack.pop()
                i += 1
                continue
            raise _bad(c, "after array element")


def _object_key(b: bytes, i: int) -> int:
    """Scan ``"key" :`` starting at ``b[i]``; return the offset after the colon."""
    n = len(b)
    if b[i] != 0x22:
        raise _bad(b[i], "looking for beginning of object key string")
    i = _string(b, i)
    while i < n and b[i] in _WS:
        i += 1
    if i >= n:
        raise _Eof
    if b[i] != 0x3A:
        raise _bad(b[i], "after object key")
    return i + 1


def _string(b: bytes, i: int) -> int:
    n = len(b)
    i += 1
    while True:
        if i >= n:
            raise _Eof
        c = b[i]
        if c == 0x22:
            return i + 1
        if c == 0x5C:
            i += 1
            if i >= n:
                raise _Eof
            e = b[i]
            if e == 0x75:
                for _ in range(4):
                    i += 1
                    if i >= n:
                        raise _Eof
                    if b[i] not in _HEX:
                        raise _bad(b[i], "in \\u hexadecimal character escape")
            elif e not in b'"\\/bfnrt':
                raise _bad(e, "in string escape code")
        elif c < 0x20:
            raise _bad(c, "in string literal")
        i += 1


def _number(b: bytes, i: int) -> int:
    n = len(b)
    if b[i] == 0x2D:
        i += 1
        if i >= n:
            raise _Eof
        if b[i] not in _DIGITS:
            raise _bad(b[i], "in numeric literal")
    if b[i] == 0x30:
        i += 1
    else:
        while i < n and b[i] in _DIGITS:
            i += 1
    if i < n and b[i] == 0x2E:
        i = _digits(b, i + 1, "after decimal point in numeric literal")
    if i < n and b[i] in b"eE":
        i += 1
        if i < n and b[i] in b"+-":
            i += 1
        i = _digits(b, i, "in exponent of numeric literal")
    return i


def _digits(b: bytes, i: int, where: str) -> int:
    """The index past a run of one or more digits at ``i`` (else Go's error ``where``)."""
    n = len(b)
    if i >= n:
        raise _Eof
    if b[i] not in _DIGITS:
        raise _bad(b[i], where)
    i += 1
    while i < n and b[i] in _DIGITS:
        i += 1
    return i


def _literal(b: bytes, i: int, word: bytes) -> int:
    n = len(b)
    for k in range(1, len(word)):
        if i + k >= n:
            raise _Eof
        if b[i + k] != word[k]:
            raise _bad(b[i + k], f"in literal {word.decode()} (expecting {_quote_char(word[k])})")
    return i + len(word)


def _reject_constant(name: str) -> Any:  # pragma: no cover - scanner rejects these first
    raise GoJSONError(f"invalid character '{name[0]}' looking for beginning of value")


def _parse_int(text: str) -> int | GoFloat:
    """An integer literal; one too long for int64 stays a :class:`GoFloat`.

    Why: ``int()`` refuses literals over 4300 digits (``sys.int_info``), which made a
    hostile body a 500. No int64 has more than 20 characters, so a longer literal is
    out of range for every int field (Go: ``cannot unmarshal number <literal>``) and
    is still a valid, possibly overflowing, float32.
    """
    return int(text) if len(text) <= 20 else GoFloat(text)


def decode(body: bytes) -> Any:
    """Decode the first JSON value of ``body`` as Go's ``Decoder.Decode`` would.

    Objects become :class:`Obj`, non-integer numbers :class:`GoFloat`. Raises
    :class:`GoJSONError` whose text is Go's (``EOF``, ``unexpected EOF``,
    ``invalid character ...``).
    """
    n = len(body)
    i = 0
    while i < n and body[i] in _WS:
        i += 1
    if i >= n:
        raise GoJSONError("EOF")
    try:
        end = _scan(body, i)
    except _Eof:
        raise GoJSONError("unexpected EOF") from None
    text = body[i:end].decode("utf-8", "replace")
    return json.loads(
        text, object_pairs_hook=Obj, parse_float=GoFloat, parse_int=_parse_int, parse_constant=_reject_constant
    )


# --------------------------------------------------------------------------- typed assign


@dataclass(frozen=True)
class _Type:
    kind: str
    go: str


STRING = _Type("string", "string")
BOOL = _Type("bool", "bool")
INT64 = _Type("int64", "int64")
FLOAT32 = _Type("float32", "float32")
#: A struct with no exported fields (``zerolog.Logger`` behind the ``Logger`` artifact).
ANY_OBJECT = _Type("object", "zerolog.Logger")


@dataclass(frozen=True)
class Struct:
    """A Go struct schema: ``fields`` maps JSON names to a type or a nested Struct."""

    name: str  # Go struct name used in error texts ("LatencyToxic", "" if anonymous)
    go: str  # Go type string ("toxics.LatencyToxic")
    fields: dict[str, Any]


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_F32_MAX = struct.unpack("<f", b"\xff\xff\x7f\x7f")[0]


def _kind(v: Any) -> str:
    if isinstance(v, Obj):
        return "object"
    if isinstance(v, list):
        return "array"
    if isinstance(v, str):
        return "string"
    if isinstance(v, bool):
        return "bool"
    return "number"


def _num_text(v: Any) -> str:
    return v.literal if isinstance(v, GoFloat) else str(v)


def to_float32(x: float) -> float:
    """Round to the nearest float32 (Go ``float32(x)``); raises OverflowError."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


_SURROGATES = re.compile("[\ud800-\udfff]")


def _clean_str(s: str) -> str:
    return _SURROGATES.sub("\ufffd", s) if _SURROGATES.search(s) else s


class _Errors:
    __slots__ = ("first",)

    def __init__(self) -> None:
        self.first: str | None = None

    def type_error(self, value: str, struct_name: str, path: str, go: str) -> None:
        if self.first is None:
            self.first = f"json: cannot unmarshal {value} into Go struct field {struct_name}.{path} of type {go}"


_KEEP = object()


def _assign_scalar(v: Any, t: _Type, errs: _Errors, sname: str, path: str) -> Any:
    if v is None:
        return _KEEP
    k = t.kind
    if k == "string":
        if isinstance(v, str):
            return _clean_str(v)
    elif k == "bool":
        if isinstance(v, bool):
            return v
    elif k == "int64":
        if isinstance(v, int) and not isinstance(v, bool):
            if _INT64_MIN <= v <= _INT64_MAX:
                return v
            errs.type_error("number " + _num_text(v), sname, path, t.go)
            return _KEEP
        if isinstance(v, GoFloat):
            errs.type_error("number " + v.literal, sname, path, t.go)
            return _KEEP
    elif k == "float32":
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            f = float(v)
            if math.isfinite(f) and abs(f) <= _F32_MAX * (1 + 2**-25):
                try:
                    return to_float32(f)
                except OverflowError:
                    pass
            errs.type_error("number " + _num_text(v), sname, path, t.go)
            return _KEEP
    elif k == "object":
        if isinstance(v, Obj):
            return _KEEP
    errs.type_error(_kind(v), sname, path, t.go)
    return _KEEP


def _lookup(fields: dict[str, Any], key: str) -> str | None:
    if key in fields:
        return key
    low = key.casefold()
    for name in fields:
        if name.casefold() == low:
            return name
    return None


def _assign_obj(obj: Obj, schema: Struct, out: dict[str, Any], errs: _Errors, prefix: str) -> None:
    for key, v in obj:
        name = _lookup(schema.fields, key)
        if name is None:
            continue
        t = schema.fields[name]
        path = prefix + name
        if isinstance(t, Struct):
            if v is None:
                continue
            if not isinstance(v, Obj):
                errs.type_error(_kind(v), schema.name, path, t.go)
                continue
            sub = out.get(name)
            if not isinstance(sub, dict):
                sub = {}
                out[name] = sub
            _assign_obj(v, t, sub, errs, path + ".")
            continue
        r = _assign_scalar(v, t, errs, schema.name, path)
        if r is not _KEEP:
            out[name] = r


def assign_struct(value: Any, schema: Struct, out: dict[str, Any], *, top_go: str | None = None) -> str | None:
    """Assign a decoded value onto ``out`` (defaults pre-filled) following ``schema``.

    Returns ``None`` or the first Go error text. ``top_go`` is the Go type string named
    when the top-level value is not an object (defaults to ``schema.go``).
    """
    if value is None:
        return None
    if not isinstance(value, Obj):
        return f"json: cannot unmarshal {_kind(value)} into Go value of type {top_go or schema.go}"
    errs = _Errors()
    _assign_obj(value, schema, out, errs, "")
    return errs.first


def assign_top(value: Any, kind: str, go: str) -> str | None:
    """Check that a top-level value is of JSON ``kind`` ("array"); return a Go error text."""
    if value is None or _kind(value) == kind:
        return None
    return f"json: cannot unmarshal {_kind(value)} into Go value of type {go}"


# --------------------------------------------------------------------------- encode

_HTML = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_HTML_RE = re.compile("[<>&\u2028\u2029]")


def dumps_str(s: str) -> str:
    """A JSON string literal as ``json.Marshal`` writes it (UTF-8, HTML-escaped)."""
    out = json.dumps(_clean_str(s), ensure_ascii=False)
    return _HTML_RE.sub(lambda m: _HTML[m.group(0)], out)


def format_float32(x: float) -> str:
    """Shortest text that round-trips the float32 ``x``, formatted as Go's encoder does.

    Near the float32 maximum a short candidate can round *above* it ("3.403e+38"),
    which ``to_float32`` refuses: such a candidate just does not round-trip.
    """
    if x == 0:
        return "-0" if math.copysign(1.0, x) < 0 else "0"
    digits = ""
    for p in range(1, 10):
        s = "%.*e" % (p - 1, x)
        try:
            if to_float32(float(s)) == x:
                digits = s
                break
        except OverflowError:
            continue
    mant, exp_s = digits.split("e")
    exp = int(exp_s)
    a = abs(x)
    if a < 1e-6 or a >= 1e21:
        e = "%02d" % abs(exp)
        if exp < 0 and e[0] == "0":
            e = e[1:]
        return f"{mant}e{'-' if exp < 0 else '+'}{e}"
    neg = mant.startswith("-")
    ds = mant.lstrip("-").replace(".", "")
    point = exp + 1  # digits before the decimal point
    if point <= 0:
        body = "0." + "0" * (-point) + ds
    elif point >= len(ds):
        body = ds + "0" * (point - len(ds))
    else:
        body = ds[:point] + "." + ds[point:]
    if "." in body:
        body = body.rstrip("0").rstrip(".")
    return ("-" if neg else "") + body
