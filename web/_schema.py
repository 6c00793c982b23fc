"""Request bodies as dataclasses: strict parsing (unknown fields, wrong types → 400) and the
JSON Schema the OpenAPI document shows — one description serves both."""

from __future__ import annotations

import dataclasses
import json
import types
from enum import Enum
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from aiohttp import web

from core import InvalidInputError

__all__ = ["json_schema", "parse", "read_json"]

T = TypeVar("T")

#: Longest string accepted in any field unless the field says otherwise (metadata max_length).
MAX_STR = 4000


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
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _fail(path, "must be a number")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise _fail(path, "must be a string")
        limit = meta.get("max_length", MAX_STR)
        if len(value) > limit:
            raise _fail(path, f"must be at most {limit} characters")
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
    try:
        data = json.loads(await request.read())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"malformed JSON: {exc}", code="invalid_input") from None
    return parse(model, data)


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
        return {"type": "array", "items": json_schema(get_args(tp)[0])}
    if isinstance(tp, type) and issubclass(tp, Enum):
        return {"type": "string", "enum": [m.value for m in tp]}
    if dataclasses.is_dataclass(tp):
        hints = get_type_hints(tp)
        props: dict[str, Any] = {}
        required = []
        for f in dataclasses.fields(tp):
            props[f.name] = json_schema(hints[f.name])
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
    return {
        str: {"type": "string"},
        int: {"type": "integer"},
        float: {"type": "number"},
        bool: {"type": "boolean"},
    }.get(tp, {})
