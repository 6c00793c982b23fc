"""Verify a recording on disk: signature, every segment's SHA-256, and the chain.

Blocking (reads every byte): run it in a thread.  The report names the first segment
that does not match, so a person knows which minute of which file was altered.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ._manifest import (
    Manifest,
    chain_link,
    genesis_link,
    key_id,
    manifest_from_json,
    verify_signature,
)
from ._naming import MANIFEST_NAME, PART_SUFFIX, parse_segment_name
from ._store import hash_file

__all__ = ["Problem", "VerifyReport", "verify_recording"]


@dataclass(frozen=True, slots=True)
class Problem:
    segment: str | None  # the file it concerns; None for the manifest itself
    reason: str


@dataclass
class VerifyReport:
    directory: Path
    recording_id: str | None = None
    segments: int = 0
    bytes: int = 0
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)
    manifest: Manifest | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad_segment(self) -> str | None:
        return next((p.segment for p in self.problems if p.segment), None)

    def summary(self) -> str:
        if self.ok:
            return (
                f"recording {self.recording_id} intact: signature valid, {self.segments} "
                f"segment(s), {self.bytes} bytes hashed, chain complete"
            )
        lines = [f"recording {self.recording_id or self.directory} FAILED verification:"]
        lines += [f"  {p.segment or 'manifest'}: {p.reason}" for p in self.problems]
        return "\n".join(lines)


def verify_recording(directory: Path, public_key: Ed25519PublicKey) -> VerifyReport:
    started = time.perf_counter()
    report = VerifyReport(directory)
    try:
        manifest, body, signature = manifest_from_json((directory / MANIFEST_NAME).read_bytes())
    except FileNotFoundError:
        report.problems.append(Problem(None, f"no {MANIFEST_NAME} in {directory}"))
        return report
    except ValueError as exc:
        report.problems.append(Problem(None, str(exc)))
        return report
    report.recording_id, report.manifest = manifest.recording_id, manifest

    if manifest.key_id != key_id(public_key):
        report.problems.append(
            Problem(None, f"signed by key {manifest.key_id}, not by this key {key_id(public_key)}")
        )
    elif not verify_signature(body, signature, public_key):
        report.problems.append(Problem(None, "signature does not match: the manifest was altered"))
    link = genesis_link(manifest.recording_id)
    for expected_index, segment in enumerate(manifest.segments):
        path = directory / segment.name
        if segment.index != expected_index:
            report.problems.append(Problem(segment.name, f"segment {expected_index} is missing"))
        recomputed = chain_link(
            link,
            index=segment.index,
            name=segment.name,
            sha256=segment.sha256,
            start=segment.start,
            end=segment.end,
            size=segment.bytes,
        )
        if recomputed != segment.chain:
            report.problems.append(Problem(segment.name, "chain link does not match"))
        link = segment.chain
        if not path.is_file():
            report.problems.append(Problem(segment.name, "file is missing"))
            continue
        sha, size = hash_file(path)
        report.bytes += size
        report.segments += 1
        if size != segment.bytes:
            report.problems.append(
                Problem(segment.name, f"file has {size} bytes, the manifest says {segment.bytes}")
            )
        elif sha != segment.sha256:
            report.problems.append(Problem(segment.name, "SHA-256 differs: the file was altered"))
    listed = {s.name for s in manifest.segments}
    for path in sorted(directory.iterdir()):
        name = path.name.removesuffix(PART_SUFFIX)
        if parse_segment_name(name) is not None and path.name not in listed:
            what = "unfinished segment (salvage with `recordings reindex`)"
            if not path.name.endswith(PART_SUFFIX):
                what = "segment not in the manifest"
            report.problems.append(Problem(path.name, what))
    report.seconds = time.perf_counter() - started
    return report
