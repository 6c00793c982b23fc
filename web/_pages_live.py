"""The live wall page (实时视频墙): unit tree, tile grids, large view with push-to-talk.

The page is a shell; ``/static/live.js`` fills it from ``/api/live/cameras`` and opens
one WHEP session per visible tile.
"""

from __future__ import annotations

from aiohttp import web

from core import Permission, authorize, build_tree

from ._context import DB, ORG, current_principal
from ._render import render_page

__all__ = ["routes"]

routes = web.RouteTableDef()

GRID_SIZES = (1, 4, 9, 16)


@routes.get("/live")
async def live_wall(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)
    authorize(principal, Permission.CAMERA_VIEW, principal.unit_code)
    async with request.app[DB].read() as session:
        units = await request.app[ORG].units(session, principal)
    return render_page(
        request,
        "live.html",
        {
            "tree": build_tree(units, []),
            "grid_sizes": GRID_SIZES,
            "can_talk": principal.has(Permission.CAMERA_TALK),
            "secure_hint": request.secure
            or request.host.split(":")[0] in ("localhost", "127.0.0.1", "[::1]"),
        },
    )
