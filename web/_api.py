"""A route table that also describes itself, so the OpenAPI document is generated from the
same declarations that register the handlers."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ._schema import json_schema

__all__ = ["Api", "ApiOperation", "Query", "openapi_document"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Query:
    """A query parameter that says more than its name: what it means, its type and bounds."""

    name: str
    description: str = ""
    schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "string"})


@dataclass(frozen=True, slots=True)
class ApiOperation:
    method: str
    path: str
    summary: str
    tag: str
    body: Any = None
    body_type: str = "application/json"
    status: int = 200
    query: tuple[str | Query, ...] = ()
    public: bool = False
    #: Longer text for the OpenAPI document: paging, the shape of the answer …
    description: str = ""


@dataclass
class Api:
    tag: str
    routes: web.RouteTableDef = field(default_factory=web.RouteTableDef)
    operations: list[ApiOperation] = field(default_factory=list)

    def _add(self, method: str, path: str, summary: str, **kw: Any) -> Callable[[Handler], Handler]:
        self.operations.append(ApiOperation(method, path, summary, self.tag, **kw))
        return self.routes.route(method, path)

    def get(self, path: str, summary: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self._add("GET", path, summary, **kw)

    def post(self, path: str, summary: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self._add("POST", path, summary, **kw)

    def patch(self, path: str, summary: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self._add("PATCH", path, summary, **kw)

    def delete(self, path: str, summary: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self._add("DELETE", path, summary, **kw)


#: 400 bad input, 401 not signed in, 403 not allowed, 404 no such object (or not in your
#: scope), 409 conflicts with the current state, 429 slow down, 503 the camera or a peer
#: is unavailable
_ERRORS = ("400", "401", "403", "404", "409", "429", "503")


def openapi_document(operations: list[ApiOperation], version: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        entry: dict[str, Any] = {
            "summary": op.summary,
            "tags": [op.tag],
            "responses": {
                str(op.status): {"description": "success"},
                # every operation can meet these; one shape for all of them
                **{code: {"$ref": "#/components/responses/Error"} for code in _ERRORS},
            },
        }
        if op.body is not None:
            entry["responses"]["413"] = {"$ref": "#/components/responses/Error"}
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in _path_params(op.path)
        ] + [_query_parameter(q) for q in op.query]
        if params:
            entry["parameters"] = params
        if op.body is not None:
            schema = json_schema(op.body) if not isinstance(op.body, dict) else op.body
            entry["requestBody"] = {"required": True, "content": {op.body_type: {"schema": schema}}}
        if op.public:
            entry["security"] = []
        if op.description:
            entry["description"] = op.description
        paths.setdefault(_openapi_path(op.path), {})[op.method.lower()] = entry
    return {
        "openapi": "3.0.3",
        "info": {"title": "zongzhi-gateway API (综治视频网关)", "version": version},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "machine account token (一机一账号)",
                },
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "zz_session",
                    "description": "browser session; unsafe methods also need the "
                    "X-CSRF-Token header",
                },
            },
            "responses": {
                "Error": {
                    "description": "error",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "error": {"type": "string"},
                                    "message": {"type": "string"},
                                },
                                "required": ["error", "message"],
                            }
                        }
                    },
                }
            },
        },
    }


def _query_parameter(query: str | Query) -> dict[str, Any]:
    if isinstance(query, str):
        query = Query(query)
    out = {"name": query.name, "in": "query", "required": False, "schema": dict(query.schema)}
    if query.description:
        out["description"] = query.description
    return out


_PARAM = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")


def _path_params(path: str) -> list[str]:
    return _PARAM.findall(path)


def _openapi_path(path: str) -> str:
    """The route's path as OpenAPI writes it: ``{id:\\d+}`` → ``{id}``."""
    return _PARAM.sub(lambda m: "{" + m.group(1) + "}", path)
