"""WS-Discovery responder on UDP: answers Probes unicast to the prober's address and port.

One responder can speak for several cameras on one host (each answers with its own
ProbeMatches datagram, as separate devices would).  It joins 239.255.255.250 when bound to
the wildcard address; tests on one host send unicast probes to its port instead, since
multicast loopback is not dependable in sandboxes.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import time
from collections.abc import Callable, Iterable
from typing import cast

from ._wsdiscovery import DiscoveryInfo, build_probe_matches, matches, parse_probe

__all__ = ["MULTICAST_GROUP", "WS_DISCOVERY_PORT", "DiscoveryResponder"]

logger = logging.getLogger(__name__)

MULTICAST_GROUP = "239.255.255.250"
WS_DISCOVERY_PORT = 3702

DeviceList = Callable[[], Iterable[DiscoveryInfo]]


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, responder: DiscoveryResponder) -> None:
        self.responder = responder
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        probe = parse_probe(data)
        if probe is None or self.transport is None:
            return
        self.responder.probes_received += 1
        for info in self.responder.devices():
            if matches(probe, info):
                self.responder.message_number += 1
                reply = build_probe_matches(
                    probe, info, self.responder.instance_id, self.responder.message_number
                )
                self.transport.sendto(reply, addr)

    def error_received(self, exc: Exception) -> None:
        logger.debug("WS-Discovery socket error: %s", exc)


class DiscoveryResponder:
    def __init__(
        self, devices: DeviceList, host: str = "127.0.0.1", port: int = WS_DISCOVERY_PORT
    ) -> None:
        self.devices = devices
        self.host = host
        self.port = port
        self.instance_id = int(time.time())
        self.message_number = 0
        self.probes_received = 0
        self.joined_multicast = False
        self._transport: asyncio.DatagramTransport | None = None

    async def start(self) -> None:
        if self._transport is not None:
            return
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            if self.host in ("", "0.0.0.0"):
                try:
                    membership = struct.pack(
                        "4s4s", socket.inet_aton(MULTICAST_GROUP), socket.inet_aton("0.0.0.0")
                    )
                    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
                    self.joined_multicast = True
                except OSError as exc:
                    logger.info(
                        "WS-Discovery: cannot join %s (%s); unicast only", MULTICAST_GROUP, exc
                    )
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(self), sock=sock)
        self._transport = transport
        self.port = sock.getsockname()[1]

    async def close(self) -> None:
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.close()
            await asyncio.sleep(0)  # let the transport's close callbacks run
