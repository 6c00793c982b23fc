"""Where a platform's requests go: MANSCDP bodies by ``CmdType``, INVITEs by ``s=``,
in-dialog requests by Call-ID.  The routers are the uplink's extension seams:

- :class:`QueryRouter` — ``router.register("Catalog", handler)``; the MESSAGE (or
  SUBSCRIBE/NOTIFY) has already been answered 200 when ``handler(link, body, request)``
  runs, so a handler sends its result as a new request (``link.send_manscdp``).  Add
  ``Broadcast`` here the same way as ``Catalog``.
- :class:`InviteRouter` — ``router.register("Play", handler)``; ``handler(call)``
  answers the INVITE itself (``call.respond``) and, on success, registers the dialog it
  creates with the :class:`DialogTable` so that ACK, BYE, CANCEL and INFO reach it.  Add
  ``Playback`` and ``Download`` here.
- :class:`DialogTable` — live dialogs by Call-ID; each is a :class:`Dialog` whose
  ``on_request`` gets ACK, BYE, INFO (MANSRTSP), CANCEL.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from media import Manscdp, SipRequest, SipResponse, parse_name_addr, response_to

from ._transport import SipTransportError

if TYPE_CHECKING:
    from ._platform import PlatformLink
    from ._transport import Peer, SipEndpoint

__all__ = [
    "Dialog",
    "DialogTable",
    "IncomingCall",
    "InviteRouter",
    "QueryHandler",
    "QueryRouter",
]

QueryHandler = Callable[["PlatformLink", Manscdp, SipRequest], Awaitable[None]]
SubscribeHandler = Callable[["PlatformLink", Manscdp, SipRequest, "Peer"], Awaitable[None]]


class QueryRouter:
    def __init__(self) -> None:
        self._handlers: dict[str, QueryHandler] = {}
        self._subscribe: dict[str, SubscribeHandler] = {}

    def register_subscribe(self, cmd_type: str, handler: SubscribeHandler) -> None:
        """Route SUBSCRIBEs whose body's ``CmdType`` is ``cmd_type``; the handler answers."""
        self._subscribe[cmd_type.lower()] = handler

    def subscribe_handler(self, cmd_type: str) -> SubscribeHandler | None:
        return self._subscribe.get(cmd_type.lower())

    def register(self, cmd_type: str, handler: QueryHandler) -> None:
        """Route bodies whose ``CmdType`` is ``cmd_type`` (case-insensitive) to ``handler``."""
        self._handlers[cmd_type.lower()] = handler

    def handler(self, cmd_type: str) -> QueryHandler | None:
        return self._handlers.get(cmd_type.lower())


@dataclass(slots=True)
class IncomingCall:
    """An INVITE from a platform, with what its handler needs to answer it."""

    link: PlatformLink
    request: SipRequest
    peer: Peer
    endpoint: SipEndpoint
    session_name: str  # the SDP ``s=`` line: Play, Playback, Download, Talk
    #: Set when the platform CANCELs before the answer: the handler then answers 487
    #: (``call.refuse(487)``) instead of 200 and lets go of what it prepared.
    cancelled: bool = False

    async def respond(self, response: SipResponse) -> None:
        await self.endpoint.respond(self.request, response, self.peer)

    async def refuse(self, status: int, reason: str | None = None) -> None:
        await self.respond(response_to(self.request, status, reason))

    async def hang_up(self, local_tag: str, cseq: int) -> None:
        """Send the dialog's BYE from the gateway's side (to the platform's Contact) and
        wait at most 5 s for its answer; a platform already gone is not an error."""
        contact = self.request.header("Contact")
        uri = parse_name_addr(contact).uri.encode() if contact else self.link.server_uri
        to = parse_name_addr(self.request.header("To") or "").with_tag(local_tag).encode()
        bye = self.link.build_request(
            "BYE",
            uri=uri,
            call_id=self.request.call_id,
            cseq=cseq,
            from_header=to,
            to_header=self.request.header("From"),
        )
        with contextlib.suppress(SipTransportError, TimeoutError):
            await self.endpoint.request(bye, self.peer, time_limit=5.0)


InviteHandler = Callable[[IncomingCall], Awaitable[None]]


class InviteRouter:
    def __init__(self) -> None:
        self._handlers: dict[str, InviteHandler] = {}

    def register(self, session_name: str, handler: InviteHandler) -> None:
        """Route INVITEs whose SDP ``s=`` is ``session_name`` (case-insensitive)."""
        self._handlers[session_name.lower()] = handler

    def handler(self, session_name: str) -> InviteHandler | None:
        return self._handlers.get(session_name.lower())


class Dialog(Protocol):
    """A live dialog (a live view, a playback, a broadcast) that in-dialog requests reach."""

    async def on_request(self, request: SipRequest, peer: Peer) -> SipResponse | None:
        """Handle ACK/BYE/INFO/CANCEL; return the answer (None for ACK)."""


class DialogTable:
    def __init__(self) -> None:
        self._dialogs: dict[str, Dialog] = {}

    def add(self, call_id: str, dialog: Dialog) -> None:
        self._dialogs[call_id] = dialog

    def remove(self, call_id: str, dialog: Dialog | None = None) -> None:
        if dialog is None or self._dialogs.get(call_id) is dialog:
            self._dialogs.pop(call_id, None)

    def get(self, call_id: str) -> Dialog | None:
        return self._dialogs.get(call_id)

    def __len__(self) -> int:
        return len(self._dialogs)
