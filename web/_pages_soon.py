"""An honest page for an area that is not open yet, instead of a bare 404.

``/meetings`` (视频会议) is listed in the menu for every role that may join a meeting; until
a meetings page is registered, this one says so.  It registers itself only when no other
handler has taken the path, so the real page replaces it by simply existing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from core import Permission, authorize

from ._context import current_principal
from ._render import render_page

__all__ = ["add_placeholders"]

#: path → (title source string, explanation source string, permission to see it)
_SOON = {
    "/meetings": (
        "Video meetings",
        "The weekly joint meetings (villages on Thursday, the township on Friday morning) "
        "will be held and recorded here. This area is not open yet.",
        Permission.MEETING_JOIN,
    ),
}


def _page(path: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    title, text, permission = _SOON[path]

    async def soon(request: web.Request) -> web.StreamResponse:
        actor = current_principal(request)
        authorize(actor, permission, actor.unit_code)
        return render_page(request, "soon.html", {"title": title, "text": text})

    return soon


def add_placeholders(app: web.Application) -> None:
    """Add a "coming soon" page for each path no handler has taken (call it last)."""
    taken = {resource.canonical for resource in app.router.resources()}
    for path in _SOON:
        if path not in taken:
            app.router.add_get(path, _page(path))
