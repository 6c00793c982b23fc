"""JSON API of the configurable dispute-type list (issue 6, item 1).

Anyone who reads cases or ledgers lists the types; only an administrator of the county adds,
renames, reorders or (de)activates them.  Types are never deleted: old cases keep theirs.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from cases import DisputeTypeDef, DisputeTypeInput, DisputeTypePatch

from ._api import Api
from ._api_cases import CASES
from ._context import current_principal
from ._schema import read_json

__all__ = ["api", "type_json"]

api = Api("cases")


def type_json(t: DisputeTypeDef) -> dict[str, Any]:
    return {
        "key": t.key,
        "label_zh": t.label_zh,
        "label_en": t.label_en,
        "ledger_column": t.ledger_column.value,
        "active": t.active,
        "position": t.position,
        "standard": t.standard,
    }


@api.get(
    "/api/dispute-types",
    "The configured dispute types in display order (active=true: only those intake accepts)",
    query=("active",),
)
async def list_types(request: web.Request) -> web.StreamResponse:
    catalogue = await request.app[CASES].types.catalogue(current_principal(request))
    only_active = request.query.get("active") in ("1", "true")
    types = catalogue.active if only_active else catalogue.types
    return web.json_response({"types": [type_json(t) for t in types]})


@api.post(
    "/api/dispute-types",
    "Add a local dispute type mapped to a standard ledger column (county administrator)",
    body=DisputeTypeInput,
    status=201,
)
async def create_type(request: web.Request) -> web.StreamResponse:
    body = await read_json(request, DisputeTypeInput)
    created = await request.app[CASES].types.create(current_principal(request), body)
    return web.json_response(type_json(created), status=201)


@api.patch(
    "/api/dispute-types/{key}",
    "Rename, reorder, deactivate or reactivate a dispute type (county administrator)",
    body=DisputeTypePatch,
)
async def update_type(request: web.Request) -> web.StreamResponse:
    body = await read_json(request, DisputeTypePatch)
    updated = await request.app[CASES].types.update(
        current_principal(request), request.match_info["key"], body
    )
    return web.json_response(type_json(updated))
