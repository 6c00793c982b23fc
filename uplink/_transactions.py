"""RFC 3261 §17 transaction matching and timers, as pure functions.

- A client transaction is matched by the top Via ``branch`` of the response and the
  CSeq method (§17.1.3); a server transaction by the top Via ``branch``, its sent-by
  and the method, with ACK matching the INVITE it acknowledges (§17.2.3).
- Over UDP a non-INVITE request is retransmitted at T1, 2·T1 … capped at T2 until a
  response arrives (Timer E), an INVITE at T1, 2·T1 … uncapped until a provisional one
  (Timer A); both give up at 64·T1 (Timers F and B).  TCP never retransmits.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from media import SipFormatError, SipRequest, SipResponse

__all__ = ["Timers", "client_key", "retransmit_delays", "server_key"]


@dataclass(frozen=True, slots=True)
class Timers:
    """RFC 3261 timer base values (seconds); tests shrink T1 to keep runs short."""

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0

    @property
    def transaction_timeout(self) -> float:
        """Timers B and F: how long a request waits for its final response."""
        return 64 * self.t1


def retransmit_delays(timers: Timers, *, invite: bool) -> Iterator[float]:
    """Gaps between UDP retransmissions of a request, until Timer B/F (64·T1) fires."""
    delay, elapsed = timers.t1, 0.0
    while elapsed + delay < timers.transaction_timeout:
        yield delay
        elapsed += delay
        delay = delay * 2 if invite else min(delay * 2, timers.t2)


def client_key(message: SipRequest | SipResponse) -> tuple[str, str]:
    """(branch, method) of a request sent or a response received."""
    vias = message.vias
    if not vias or not vias[0].branch:
        raise SipFormatError("SIP message has no Via branch to match a transaction")
    return vias[0].branch, message.cseq.method.upper()


def server_key(request: SipRequest) -> tuple[str, str, str]:
    """(branch, sent-by, method) of a received request; an ACK gives the INVITE's key."""
    vias = request.vias
    if not vias or not vias[0].branch:
        raise SipFormatError("SIP request has no Via branch")
    via = vias[0]
    method = request.method.upper()
    if method == "ACK":
        method = "INVITE"
    return via.branch or "", f"{via.host}:{via.port or 5060}", method
