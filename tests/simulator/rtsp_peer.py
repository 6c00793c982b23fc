"""A deliberately small RTSP/TCP client for the simulator tests (not the product's client).

It speaks just enough RFC 2326 to drive the simulator's backchannel and fault paths:
requests with Basic or Digest auth, interleaved frames in and out.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import re
import struct
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Response:
    status: int
    headers: dict[str, list[str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None


@dataclass
class RtspPeer:
    url: str
    username: str
    password: str
    use_basic: bool = False
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    cseq: int = 0
    session: str | None = None
    frames: asyncio.Queue[tuple[int, bytes]] = field(default_factory=asyncio.Queue)
    _challenge: dict[str, str] | None = None
    _pending: asyncio.Future[Response] | None = None
    _reader_task: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        parts = urlsplit(self.url)
        self.reader, self.writer = await asyncio.open_connection(parts.hostname, parts.port)
        self._reader_task = asyncio.create_task(self._read_loop())

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await self.writer.wait_closed()
        if self._reader_task is not None:
            self._reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader_task

    async def _read_loop(self) -> None:
        assert self.reader is not None
        try:
            while True:
                first = await self.reader.readexactly(1)
                if first == b"$":
                    header = await self.reader.readexactly(3)
                    channel, length = header[0], struct.unpack("!H", header[1:])[0]
                    await self.frames.put((channel, await self.reader.readexactly(length)))
                    continue
                head = first + await self.reader.readuntil(b"\r\n\r\n")
                lines = head.decode().split("\r\n")
                status = int(lines[0].split(" ")[1])
                headers: dict[str, list[str]] = {}
                for line in lines[1:]:
                    if ":" in line:
                        key, _, value = line.partition(":")
                        headers.setdefault(key.strip().lower(), []).append(value.strip())
                length = int(headers.get("content-length", ["0"])[0])
                body = await self.reader.readexactly(length) if length else b""
                if self._pending is not None and not self._pending.done():
                    self._pending.set_result(Response(status, headers, body))
        except (asyncio.IncompleteReadError, ConnectionError):
            if self._pending is not None and not self._pending.done():
                self._pending.set_exception(ConnectionResetError("RTSP connection closed"))
            await self.frames.put((-1, b""))

    def _authorization(self, method: str, uri: str) -> str | None:
        if self.use_basic:
            token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            return f"Basic {token}"
        if self._challenge is None:
            return None
        realm, nonce = self._challenge["realm"], self._challenge["nonce"]
        ha1 = hashlib.md5(f"{self.username}:{realm}:{self.password}".encode()).hexdigest()
        ha2 = hashlib.md5(f"{method}:{uri}".encode()).hexdigest()
        response = hashlib.md5(f"{ha1}:{nonce}:{ha2}".encode()).hexdigest()
        return (
            f'Digest username="{self.username}", realm="{realm}", nonce="{nonce}", '
            f'uri="{uri}", response="{response}"'
        )

    async def request(
        self, method: str, url: str | None = None, headers: dict[str, str] | None = None
    ) -> Response:
        for _ in range(2):
            response = await self._send(method, url or self.url, headers or {})
            if response.status != 401 or self.use_basic:
                return response
            for value in response.headers.get("www-authenticate", []):
                if value.startswith("Digest"):
                    fresh = dict(re.findall(r'(\w+)="([^"]*)"', value))
                    if fresh == self._challenge:
                        return response
                    self._challenge = fresh
        return response

    async def _send(self, method: str, url: str, headers: dict[str, str]) -> Response:
        assert self.writer is not None
        self.cseq += 1
        lines = [f"{method} {url} RTSP/1.0", f"CSeq: {self.cseq}"]
        if self.session:
            lines.append(f"Session: {self.session}")
        auth = self._authorization(method, url)
        if auth:
            lines.append(f"Authorization: {auth}")
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self._pending = asyncio.get_running_loop().create_future()
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        response = await asyncio.wait_for(self._pending, 10)
        session = response.header("Session")
        if session and method != "TEARDOWN":
            self.session = session.split(";")[0]
        return response

    def send_interleaved(self, channel: int, payload: bytes) -> None:
        assert self.writer is not None
        self.writer.write(b"$" + bytes((channel,)) + struct.pack("!H", len(payload)) + payload)

    async def next_frame(self, channel: int, within: float = 5.0) -> bytes:
        """The next interleaved payload on ``channel`` (others are skipped)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            got, payload = await asyncio.wait_for(self.frames.get(), deadline - loop.time())
            if got == -1:
                raise ConnectionResetError("RTSP connection closed while waiting for media")
            if got == channel:
                return payload
