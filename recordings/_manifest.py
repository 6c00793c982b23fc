"""The per-recording manifest: segments with SHA-256 chained across the recording, gaps,
talk-back spans, and an Ed25519 signature over the whole.  Pure core.

Chain: ``link_0 = SHA-256("zongzhi-recording/1:" + recording_id)`` and
``link_i = SHA-256(link_{i-1} | index | name | sha256 | start | end | bytes)`` (fields joined
by newlines, hex digests).  Removing, reordering or replacing a segment breaks every later
link; changing a byte of a file breaks its ``sha256``; changing the manifest breaks the
signature, which covers the canonical JSON of the body (sorted keys, UTF-8, no spaces).
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = [
    "FORMAT",
    "Gap",
    "Manifest",
    "SegmentEntry",
    "TalkSpan",
    "chain_link",
    "genesis_link",
    "key_id",
    "manifest_from_json",
    "manifest_to_json",
    "sign_manifest",
    "verify_signature",
]

FORMAT = "zongzhi-recording/1"


def _ts(value: datetime) -> str:
    return value.isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class SegmentEntry:
    index: int
    name: str
    start: datetime
    end: datetime
    bytes: int
    sha256: str
    chain: str
    #: Salvaged after a crash from the file being written (complete fragments only).
    recovered: bool = False
    talkers: tuple[str, ...] = ()

    @property
    def duration(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True, slots=True)
class Gap:
    """A span with no media, said out loud: camera offline, recorder behind, crash."""

    start: datetime
    end: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class TalkSpan:
    """Someone talked into the room through the camera speaker (the second audio track)."""

    start: datetime
    end: datetime
    talker: str


@dataclass(frozen=True, slots=True)
class Manifest:
    recording_id: str
    camera_id: str
    unit_code: str
    room_id: int | None
    started_at: datetime
    started_by: str
    reason: str
    policy: str
    key_id: str
    segments: tuple[SegmentEntry, ...] = ()
    gaps: tuple[Gap, ...] = ()
    talk: tuple[TalkSpan, ...] = ()
    stopped_at: datetime | None = None
    stop_reason: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def last_link(self) -> str:
        return self.segments[-1].chain if self.segments else genesis_link(self.recording_id)

    @property
    def bytes(self) -> int:
        return sum(s.bytes for s in self.segments)

    def with_segment(self, segment: SegmentEntry) -> Manifest:
        return replace(self, segments=(*self.segments, segment))

    def with_gap(self, gap: Gap) -> Manifest:
        return replace(self, gaps=(*self.gaps, gap))

    def with_talk(self, span: TalkSpan) -> Manifest:
        return replace(self, talk=(*self.talk, span))


def genesis_link(recording_id: str) -> str:
    return hashlib.sha256(f"{FORMAT}:{recording_id}".encode()).hexdigest()


def chain_link(
    previous: str, *, index: int, name: str, sha256: str, start: datetime, end: datetime, size: int
) -> str:
    text = "\n".join([previous, str(index), name, sha256, _ts(start), _ts(end), str(size)])
    return hashlib.sha256(text.encode()).hexdigest()


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short fingerprint people can compare: first 16 hex of SHA-256 of the raw key."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _body(manifest: Manifest) -> dict[str, Any]:
    def convert(value: Any) -> Any:
        if isinstance(value, datetime):
            return _ts(value)
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [convert(v) for v in value]
        return value

    body: dict[str, Any] = convert(asdict(manifest))
    body["format"] = FORMAT
    return body


def canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def sign_manifest(manifest: Manifest, key: Ed25519PrivateKey) -> bytes:
    """The manifest file's bytes: the body and its signature, pretty enough to read."""
    body = _body(manifest)
    signature = key.sign(canonical(body))
    document = {
        "body": body,
        "signature": {
            "alg": "Ed25519",
            "key_id": key_id(key.public_key()),
            "value": base64.b64encode(signature).decode(),
        },
    }
    return json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True).encode() + b"\n"


def _dt(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"manifest time {value!r} has no time zone")
    return parsed


def manifest_from_json(raw: bytes) -> tuple[Manifest, dict[str, Any], bytes]:
    """Parse a manifest file: (manifest, body as signed, signature); ValueError if malformed."""
    try:
        document = json.loads(raw)
        body: dict[str, Any] = document["body"]
        signature = base64.b64decode(document["signature"]["value"], validate=True)
        if body.get("format") != FORMAT:
            raise ValueError(f"manifest format {body.get('format')!r} is not {FORMAT}")
        manifest = Manifest(
            recording_id=body["recording_id"],
            camera_id=body["camera_id"],
            unit_code=body["unit_code"],
            room_id=body["room_id"],
            started_at=_dt(body["started_at"]),
            started_by=body["started_by"],
            reason=body["reason"],
            policy=body["policy"],
            key_id=body["key_id"],
            segments=tuple(
                SegmentEntry(
                    index=s["index"],
                    name=s["name"],
                    start=_dt(s["start"]),
                    end=_dt(s["end"]),
                    bytes=s["bytes"],
                    sha256=s["sha256"],
                    chain=s["chain"],
                    recovered=s["recovered"],
                    talkers=tuple(s["talkers"]),
                )
                for s in body["segments"]
            ),
            gaps=tuple(Gap(_dt(g["start"]), _dt(g["end"]), g["reason"]) for g in body["gaps"]),
            talk=tuple(TalkSpan(_dt(t["start"]), _dt(t["end"]), t["talker"]) for t in body["talk"]),
            stopped_at=_dt(body["stopped_at"]) if body["stopped_at"] else None,
            stop_reason=body["stop_reason"],
            extra=dict(body.get("extra", {})),
        )
    except (KeyError, TypeError, ValueError, json.JSONDecodeError) as exc:
        raise ValueError(f"manifest is malformed: {exc}") from exc
    return manifest, body, signature


def manifest_to_json(manifest: Manifest) -> dict[str, Any]:
    """The body as JSON-ready data (for the API and the evidence package)."""
    return _body(manifest)


def verify_signature(body: dict[str, Any], signature: bytes, public_key: Ed25519PublicKey) -> bool:
    try:
        public_key.verify(signature, canonical(body))
    except InvalidSignature:
        return False
    return True
