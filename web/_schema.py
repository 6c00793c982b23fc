"""Request bodies as dataclasses: strict parsing (unknown fields, wrong types → 400) and the
JSON Schema the OpenAPI document shows — one description serves both."""

from __future__ import annotations

import dataclasses
import json
import math
import types
import unicodedata
from enum import Enum
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from aiohttp import web

from core import InvalidInputError, NotFoundError

__all__ = ["MAX_INT", "check_text", "json_schema", "parse", "path_id", "query_int", "read_json"]

T = TypeVar("T")

#: Longest string accepted in any field unless the field says otherwise (metadata max_length).
MAX_STR = 4000
#: Longest list accepted in any field unless the field says otherwise (metadata max_items).
MAX_ITEMS = 200
#: Integers are stored as signed 64-bit (SQLite INTEGER, PostgreSQL BIGINT).
MAX_INT = 2**63 - 1
#: Fields holding a name or a title: one line, something visible.
_NAME_FIELDS = frozenset({"name", "title", "username", "display_name", "full_name"})
#: Bidirectional embeddings, overrides and isolates: they make text display as something
#: other than what it says (the "Trojan Source" trick); Chinese text never needs them.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_JSON_DEPTH = 64


def check_text(value: str, *, name: bool = False) -> str | None:
    """Why ``value`` is not acceptable text (None: it is).

    Refused everywhere: lone surrogates (not Unicode), control characters other than
    tab/newline, bidirectional overrides.  In names also: line breaks and tabs, and names
    made only of invisible characters (spaces, zero-width characters, format characters).
    """
    visible = False
    for ch in value:
        category = unicodedata.category(ch)
        if category == "Cs":
            return "contains a lone surrogate (not valid Unicode)"
        if ch in _BIDI:
            return f"contains the bidirectional control U+{ord(ch):04X}"
        if category == "Cc" and (name or ch not in "\t\n\r"):
            return f"contains the control character U+{ord(ch):04X}"
        if not visible and category not in ("Zs", "Zl", "Zp", "Cf", "Cc", "Mn", "Me"):
            visible = True
    if name and value and not visible:
        return "must contain a visible character"
    return None


def path_id(request: web.Request, name: str = "id") -> int:
    """A numeric id from the path: ASCII digits; beyond 64 bits nothing exists (404)."""
    raw = request.match_info[name]
    if not raw.isascii() or not raw.isdigit():
        raise InvalidInputError(f"{name} must be a number, not {raw[:40]!r}", code="invalid_input")
    if len(raw) > 19 or int(raw) > MAX_INT:
        raise NotFoundError(f"nothing has the {name} {raw[:40]}")
    return int(raw)


def query_int(
    request: web.Request,
    name: str,
    default: int | None = None,
    *,
    minimum: int = -MAX_INT,
    maximum: int = MAX_INT,
) -> int | None:
    """An integer from the query string (ASCII digits, optional '-', within bounds)."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    digits = raw[1:] if raw.startswith("-") else raw
    if not digits.isascii() or not digits.isdigit() or len(digits) > 19:
        raise InvalidInputError(f"{name} must be a number, not {raw[:40]!r}", code="invalid_input")
    value = int(raw)
    if not minimum <= value <= maximum:
        raise InvalidInputError(
            f"{name} must be between {minimum} and {maximum}", code="invalid_input"
        )
    return value


def _fail(path: str, message: str) -> InvalidInputError:
    return InvalidInputError(f"{path or 'body'}: {message}", code="invalid_input")


def _convert(tp: Any, value: Any, path: str, meta: dict[str, Any]) -> Any:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1:
            return _convert(inner[0], value, path, meta)
        raise TypeError(f"unsupported union {tp}")
    if origin is Literal:
        if value not in get_args(tp):
            raise _fail(path, f"must be one of {', '.join(map(str, get_args(tp)))}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise _fail(path, "must be a list")
        most = meta.get("max_items", MAX_ITEMS)
        if len(value) > most:
            raise _fail(path, f"must have at most {most} items")
        (item,) = get_args(tp)
        return [_convert(item, v, f"{path}[{i}]", {}) for i, v in enumerate(value)]
    if isinstance(tp, type) and issubclass(tp, Enum):
        try:
            return tp(value)
        except ValueError:
            raise _fail(path, f"must be one of {', '.join(str(m.value) for m in tp)}") from None
    if dataclasses.is_dataclass(tp):
        return parse(tp, value, path)  # type: ignore[arg-type]
    if tp is bool:
        if not isinstance(value, bool):
            raise _fail(path, "must be true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(path, "must be an integer")
        if not -MAX_INT <= value <= MAX_INT:
            raise _fail(path, "must fit in 64 bits")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _fail(path, "must be a number")
        if isinstance(value, int) and not -MAX_INT <= value <= MAX_INT:
            raise _fail(path, "must fit in 64 bits")
        if not math.isfinite(value):
            raise _fail(path, "must be a finite number")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise _fail(path, "must be a string")
        limit = meta.get("max_length", MAX_STR)
        if len(value) > limit:
            raise _fail(path, f"must be at most {limit} characters")
        leaf = path.rsplit(".", 1)[-1].split("[", 1)[0]
        problem = check_text(value, name=meta.get("name", leaf in _NAME_FIELDS))
        if problem is not None:
            raise _fail(path, problem)
        return value
    raise TypeError(f"unsupported field type {tp}")


def parse(model: type[T], data: Any, path: str = "") -> T:
    """Build ``model`` from decoded JSON, refusing unknown fields and wrong types."""
    if not isinstance(data, dict):
        raise _fail(path, "must be a JSON object")
    hints = get_type_hints(model)
    fields = {f.name: f for f in dataclasses.fields(model)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise _fail(path, f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(fields)}")
    kwargs: dict[str, Any] = {}
    for name, field in fields.items():
        where = f"{path}.{name}" if path else name
        if name not in data:
            if (
                field.default is dataclasses.MISSING
                and field.default_factory is dataclasses.MISSING
            ):
                raise _fail(where, "is required")
            continue
        kwargs[name] = _convert(hints[name], data[name], where, dict(field.metadata))
    return model(**kwargs)


async def read_json(request: web.Request, model: type[T]) -> T:
    if request.content_type != "application/json":
        raise InvalidInputError(
            f"send the body as application/json, not {request.content_type or 'nothing'}",
            code="invalid_input",
        )
    raw = await request.read()
    try:
        _check_depth(raw)
        data = json.loads(raw, parse_constant=_no_constant)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"malformed JSON: {exc}", code="invalid_input") from None
    except ValueError as exc:  # a number of more than 4300 digits, NaN/Infinity
        raise InvalidInputError(f"malformed JSON: {exc}", code="invalid_input") from None
    return parse(model, data)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _check_depth(raw: bytes) -> None:
    """Refuse JSON nested deeper than any body of this API (before the recursive parser)."""
    if raw.count(b"[") + raw.count(b"{") <= _JSON_DEPTH:
        return
    depth = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > _JSON_DEPTH:
                raise ValueError(f"JSON nested deeper than {_JSON_DEPTH} levels")
        elif byte in (0x5D, 0x7D):
            depth -= 1


def json_schema(tp: Any) -> dict[str, Any]:
    """JSON Schema of a field type or dataclass, for the OpenAPI document."""
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        inner = [a for a in get_args(tp) if a is not type(None)]
        schema = json_schema(inner[0])
        return {**schema, "nullable": True}
    if origin is Literal:
        return {"enum": list(get_args(tp))}
    if origin is list:
        return {"type": "array", "items": json_schema(get_args(tp)[0]), "maxItems": MAX_ITEMS}
    if isinstance(tp, type) and issubclass(tp, Enum):
        return {"type": "string", "enum": [m.value for m in tp]}
    if dataclasses.is_dataclass(tp):
        hints = get_type_hints(tp)
        props: dict[str, Any] = {}
        required = []
        for f in dataclasses.fields(tp):
            props[f.name] = json_schema(hints[f.name])
            if "max_length" in f.metadata and props[f.name].get("type") == "string":
                props[f.name]["maxLength"] = f.metadata["max_length"]
            if "max_items" in f.metadata and props[f.name].get("type") == "array":
                props[f.name]["maxItems"] = f.metadata["max_items"]
            if "description" in f.metadata:
                props[f.name]["description"] = f.metadata["description"]
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                required.append(f.name)
        return {
            "type": "object",
            "properties": props,
            "required": required,
            "additionalProperties": False,
        }
    scalars: dict[Any, dict[str, Any]] = {
        str: {"type": "string", "maxLength": MAX_STR},
        int: {"type": "integer", "minimum": -MAX_INT, "maximum": MAX_INT},
        float: {"type": "number"},
        bool: {"type": "boolean"},
    }
    return dict(scalars.get(tp, {}))
