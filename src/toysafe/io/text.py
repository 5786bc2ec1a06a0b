"""The boundary every file crosses: strict text decoding and bounded YAML/JSON parsing.

Each check happens before the expensive step it protects: sizes before reading, nesting depth
and alias expansion before building objects, and a walk of the parsed tree that refuses what no
toysafe document holds (NUL, lone surrogates, non-finite or enormous numbers, binary values).
Every failure is an :class:`InputError` naming the source and, where known, the line or field.
"""

from __future__ import annotations

import codecs
import datetime
import json
import math
import re
from pathlib import Path
from typing import Any

import yaml

from toysafe.io.errors import InputError

MB = 1024 * 1024
MAX_BYTES = 20 * MB  # a document or a CSV file of lab results
MAX_DEPTH = 64  # no toysafe document nests deeper than about 6
MAX_NODES = 1_000_000  # values after YAML alias expansion
MAX_DIGITS = 300  # an integer literal; floats reach about 1e308

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_text(
    path: Path, limit: int = MAX_BYTES, fallback: str | None = None, source: str | None = None
) -> str:
    """The file as text, or an InputError (cannot read, too large, not UTF-8)."""
    where = source or str(path)
    try:
        size = path.stat().st_size
        if size > limit:
            raise InputError(f"{where}: larger than {_size(limit)} ({_size(size)})")
        data = path.read_bytes()
    except OSError as e:
        raise InputError(f"{where}: cannot read: {e.strerror}") from None
    return decode_text(data, where, limit, fallback)


def _size(n: int) -> str:
    return f"{n / MB:.0f} MB" if n >= MB else f"{n} bytes"


_NAMES = {"cp1252": "Windows-1252"}


def decode_text(
    data: bytes, source: str, limit: int = MAX_BYTES, fallback: str | None = None
) -> str:
    """UTF-8 (with or without a byte-order mark), strictly; ``fallback`` names a legacy
    encoding a format is known to come in (Windows-1252 for marketplace exports)."""
    if len(data) > limit:
        raise InputError(f"{source}: larger than {_size(limit)} ({_size(len(data))})")
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise InputError(f"{source}: is UTF-32 text; save it as UTF-8")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InputError(f"{source}: is UTF-16 text; save it as UTF-8")
    if b"\x00" in data:
        head = data[:200]
        if head.count(b"\x00") * 3 >= len(head):
            raise InputError(f"{source}: looks like UTF-16 text; save it as UTF-8")
        line = data.count(b"\n", 0, data.index(b"\x00")) + 1
        raise InputError(f"{source}: line {line}: contains a NUL byte: not a text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        if fallback is not None:
            try:
                return data.decode(fallback)
            except UnicodeDecodeError:
                raise InputError(
                    f"{source}: cannot read: not UTF-8 or {_NAMES.get(fallback, fallback)} text"
                ) from None
        line = data.count(b"\n", 0, e.start) + 1
        raise InputError(
            f"{source}: line {line}: not UTF-8 text (byte 0x{data[e.start]:02x}; "
            "Latin-1 or Windows-1252?); save it as UTF-8"
        ) from None


def check_text(text: str, source: str) -> None:
    """Refuse NUL characters and lone surrogates in text that did not come from bytes."""
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise InputError(f"{source}: line {line}: contains a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        line = text.count("\n", 0, e.start) + 1
        raise InputError(
            f"{source}: line {line}: contains a lone surrogate (not Unicode text)"
        ) from None


def parse_document(text: str, source: str, as_json: bool | None = None) -> Any:
    """A YAML or JSON document (JSON when ``source`` ends in ``.json``), checked."""
    check_text(text, source)
    if as_json is None:
        as_json = source.lower().endswith(".json")
    kind = "JSON" if as_json else "YAML"
    try:
        data = _parse_json(text, source) if kind == "JSON" else _parse_yaml(text, source)
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        raise InputError(f"{source}: not valid {kind}: {_yaml_problem(e)}") from None
    except RecursionError:  # a backstop: the depth scan runs first
        raise InputError(f"{source}: nested deeper than {MAX_DEPTH} levels") from None
    check_tree(data, source)
    return data


def _yaml_problem(e: Exception) -> str:
    mark = getattr(e, "problem_mark", None)
    problem = getattr(e, "problem", None)
    if isinstance(e, yaml.MarkedYAMLError) and mark is not None and problem:
        return f"line {mark.line + 1}: {problem}"
    return str(e).splitlines()[0]


# -- JSON ---------------------------------------------------------------------------------

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def _json_depth_ok(text: str, source: str) -> None:
    depth = 0
    for m in _BRACKET.finditer(_JSON_STRING.sub('""', text)):
        depth += 1 if m[0] in "[{" else -1
        if depth > MAX_DEPTH:
            raise InputError(f"{source}: nested deeper than {MAX_DEPTH} levels")


def _json_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise _TooLong(len(text.lstrip("-")))
    return int(text)


class _TooLong(Exception):
    def __init__(self, digits: int) -> None:
        self.digits = digits


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Duplicate(key)
        out[key] = value
    return out


class _Duplicate(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _parse_json(text: str, source: str) -> Any:
    _json_depth_ok(text, source)
    try:
        return json.loads(
            text, parse_int=_json_int, parse_constant=float, object_pairs_hook=_unique_pairs
        )
    except _TooLong as e:
        raise InputError(
            f"{source}: a number of {e.digits} digits is too long (at most {MAX_DIGITS})"
        ) from None
    except _Duplicate as e:
        raise InputError(f"{source}: duplicate key '{e.key}'") from None


# -- YAML ---------------------------------------------------------------------------------


class _Loader(_Base):
    """Safe loading, with constructor failures reported as YAML errors with their line."""


def _guard(construct: Any) -> Any:
    def wrapper(loader: Any, node: Any) -> Any:
        if isinstance(node, yaml.ScalarNode) and node.tag.endswith((":int", ":float")):
            digits = sum(ch.isdigit() for ch in node.value)
            if digits > MAX_DIGITS:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"a number of {digits} digits is too long (at most {MAX_DIGITS})",
                    node.start_mark,
                )
        try:
            return construct(loader, node)
        except (ValueError, OverflowError, TypeError) as e:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"'{str(node.value)[:40]}' is not a valid {_tag(node)}: {e}",
                node.start_mark,
            ) from None

    return wrapper


def _tag(node: Any) -> str:
    return {"timestamp": "date"}.get(node.tag.rsplit(":", 1)[-1], node.tag.rsplit(":", 1)[-1])


def _unique_mapping(loader: Any, node: Any) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    out: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            seen = key in out
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain value", key_node.start_mark
            ) from None
        if seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key '{key}'", key_node.start_mark
            )
        out[key] = loader.construct_object(value_node, deep=True)
    return out


for _t in ("int", "float", "timestamp"):
    _tag_name = f"tag:yaml.org,2002:{_t}"
    _Loader.add_constructor(_tag_name, _guard(_Base.yaml_constructors[_tag_name]))
_Loader.add_constructor("tag:yaml.org,2002:map", _unique_mapping)


def _line(event: Any) -> int:
    mark = getattr(event, "start_mark", None)
    return int(mark.line) + 1 if mark is not None else 0


def _yaml_shape_ok(text: str, source: str) -> None:
    """Depth and alias expansion from the event stream, before any object is built."""
    starts = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
    ends = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
    open_: list[tuple[int, str | None]] = []
    sizes: dict[str, int] = {}
    nodes = 0
    for event in yaml.parse(text, Loader=_Base):
        if isinstance(event, starts):
            nodes += 1
            open_.append((nodes, event.anchor))
            if len(open_) > MAX_DEPTH:
                line = _line(event)
                raise InputError(f"{source}: line {line}: nested deeper than {MAX_DEPTH} levels")
        elif isinstance(event, ends):
            before, anchor = open_.pop()
            if anchor:
                sizes[anchor] = nodes - before + 1
        elif isinstance(event, yaml.ScalarEvent):
            nodes += 1
            if event.anchor:
                sizes[event.anchor] = 1
        elif isinstance(event, yaml.AliasEvent):
            nodes += sizes.get(event.anchor or "", 1)
        if nodes > MAX_NODES:
            line = _line(event)
            raise InputError(
                f"{source}: line {line}: expands to more than {MAX_NODES:,} values "
                "(YAML aliases repeating aliases?)"
            )


def _parse_yaml(text: str, source: str) -> Any:
    _yaml_shape_ok(text, source)
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


# -- the parsed tree ------------------------------------------------------------------------

_PLAIN = (str, bool, int, float, type(None), datetime.date)


def _path(parts: list[str | int]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(document)"


def check_tree(data: Any, source: str) -> None:
    """Refuse values no toysafe document holds, naming the field."""
    stack: list[tuple[Any, list[str | int]]] = [(data, [])]
    while stack:
        value, where = stack.pop()
        problem = _problem(value)
        if problem:
            raise InputError(f"{source}: {_path(where)}: {problem}")
        if isinstance(value, dict):
            for k, v in value.items():
                if isinstance(k, str) and (p := _problem(k)):
                    raise InputError(f"{source}: {_path(where)}: a key {p}")
                stack.append((v, [*where, str(k)]))
        elif isinstance(value, list):
            stack.extend((v, [*where, i]) for i, v in enumerate(value))


def _problem(value: Any) -> str | None:
    if isinstance(value, str):
        if "\x00" in value:
            return "contains a NUL character"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "contains a lone surrogate (not Unicode text)"
    elif isinstance(value, float):
        if not math.isfinite(value):
            return f"{value} is not a finite number"
    elif isinstance(value, int) and not isinstance(value, bool):
        if value.bit_length() > MAX_DIGITS * 3.33:
            return f"a number with more than {MAX_DIGITS} digits is too long"
    elif not isinstance(value, _PLAIN + (dict, list)):
        return f"a {type(value).__name__} value is not accepted here"
    return None
