"""The evidence package: its layout, the ffmpeg command of the viewing copy, and its
verification (``python -m gateway evidence verify PACKAGE``).  No asyncio here.

Layout of the zip::

    README.txt                      how to verify (zh-CN and English)
    export.json                     case, exporter, time, reason, ranges, key fingerprint
    public-key.pem                  the gateway's Ed25519 recording key
    recordings/<id>/manifest.json   signed manifest of each recording, as on the gateway
    recordings/<id>/seg-….mp4       original segments, byte for byte (never re-encoded)
    viewing-copy.mp4                the ranges concatenated, watermarked (re-encoded copy)
    SHA256SUMS                      SHA-256 of every other file
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import ffmpeg

from ._manifest import chain_link, genesis_link, key_id, manifest_from_json, verify_signature
from ._signing import load_public_key

__all__ = [
    "CJK_FONT",
    "PackageReport",
    "instructions",
    "verify_package",
    "viewing_copy_command",
    "watermark_font_size",
]

CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


def _ems(line: str) -> float:
    """Width of ``line`` in ems of a CJK font: CJK glyphs are square, the rest narrower."""
    return sum(1.0 if ord(c) > 0x2E80 else 0.6 for c in line)


def watermark_font_size(text: str, width: int, height: int) -> int:
    """The largest size up to a twentieth of the picture's height at which every line of
    ``text`` fits across the picture (12 px margins, the box border), so that the
    watermark is whole at every picture size."""
    widest = max((_ems(line) for line in text.splitlines()), default=1.0) or 1.0
    return max(8, int(min(height / 20, (width - 36) / widest)))


def viewing_copy_command(
    clips: list[tuple[Path, float, float]],
    watermark_file: Path,
    output: Path,
    *,
    audio: bool,
    fontfile: Path = CJK_FONT,
    fontsize: int | str = "h/20",
) -> list[str]:
    """ffmpeg arguments: cut each (file, offset, seconds), concatenate, burn in the text."""
    if not clips:
        raise ValueError("a viewing copy needs at least one clip")
    streams = []
    for path, offset, seconds in clips:
        source = ffmpeg.input(str(path), ss=f"{offset:.3f}", t=f"{seconds:.3f}")
        streams.append(source.video)
        if audio:
            streams.append(source.audio)
    joined = ffmpeg.concat(*streams, v=1, a=1 if audio else 0).node
    video = joined[0].drawtext(
        fontfile=str(fontfile),
        textfile=str(watermark_file),
        x=12,
        y=12,
        fontsize=str(fontsize),
        fontcolor="white",
        box=1,
        boxcolor="black@0.6",
        boxborderw=6,
    )
    outputs = [video, joined[1]] if audio else [video]
    out = ffmpeg.output(
        *outputs,
        str(output),
        vcodec="libx264",
        preset="veryfast",
        crf=26,
        pix_fmt="yuv420p",
        movflags="+faststart",
        **({"acodec": "aac", "ar": 16000} if audio else {}),
    ).global_args("-nostdin", "-hide_banner", "-loglevel", "error", "-progress", "pipe:1")
    return list(ffmpeg.compile(out.overwrite_output(), cmd="ffmpeg"))


def instructions(case_number: str, fingerprint: str) -> str:
    return f"""证据包 / Evidence package — 案件 {case_number}

【中文】
1. 原始录像片段位于 recordings/<录像编号>/ 目录，未经任何转码或修改。
2. 每个录像的 manifest.json 由网关的 Ed25519 密钥签名；public-key.pem 为公钥，
   指纹 {fingerprint}，请与综治中心公布的指纹核对。
3. 校验：python -m gateway evidence verify 本文件.zip
   或：unzip 后执行 sha256sum -c SHA256SUMS
4. viewing-copy.mp4 为便于观看的拼接副本，画面内烧录案件编号、导出人和导出时间；
   以原始片段为准。

[English]
1. Original segments are under recordings/<recording id>/, byte for byte as recorded.
2. Each manifest.json is signed with the gateway's Ed25519 key; public-key.pem holds the
   public key, fingerprint {fingerprint}: compare it with the one the centre publishes.
3. Verify: python -m gateway evidence verify THIS.zip  (or: unzip; sha256sum -c SHA256SUMS)
4. viewing-copy.mp4 is a watermarked copy for viewing (case number, exporter, export
   time burned in); the original segments are the evidence.
"""


@dataclass
class PackageReport:
    path: Path
    files: int = 0
    segments: int = 0
    key_id: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.ok:
            return (
                f"evidence package {self.path.name} intact: {self.files} file(s) match "
                f"SHA256SUMS, {self.segments} original segment(s) match their signed "
                f"manifests; signing key fingerprint {self.key_id}"
            )
        return "\n".join(
            [f"evidence package {self.path.name} FAILED verification:"]
            + [f"  {p}" for p in self.problems]
        )


def _sha(zf: zipfile.ZipFile, name: str) -> str:
    digest = hashlib.sha256()
    with zf.open(name) as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def verify_package(path: Path, trusted_key_id: str | None = None) -> PackageReport:
    """Re-hash every file, check every manifest's signature and every segment against it."""
    report = PackageReport(path)
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        report.problems.append(f"not a readable zip file: {exc}")
        return report
    with zf:
        names = [n for n in zf.namelist() if not n.endswith("/")]
        if "SHA256SUMS" not in names or "public-key.pem" not in names:
            report.problems.append("SHA256SUMS or public-key.pem is missing")
            return report
        listed: dict[str, str] = {}
        for line in zf.read("SHA256SUMS").decode().splitlines():
            digest, _, name = line.partition("  ")
            listed[name] = digest
        for name in names:
            if name == "SHA256SUMS":
                continue
            if name not in listed:
                report.problems.append(f"{name}: not listed in SHA256SUMS")
            elif _sha(zf, name) != listed[name]:
                report.problems.append(f"{name}: SHA-256 differs from SHA256SUMS")
            else:
                report.files += 1
        report.problems += [f"{n}: listed but missing" for n in listed if n not in names]
        public = load_public_key(zf.read("public-key.pem"))
        report.key_id = key_id(public)
        if trusted_key_id is not None and trusted_key_id != report.key_id:
            report.problems.append(
                f"signed with key {report.key_id}, not the trusted key {trusted_key_id}"
            )
        for name in names:
            if PurePosixPath(name).name == "manifest.json":
                _check_recording(zf, PurePosixPath(name).parent, names, public, report)
    return report


def _check_recording(
    zf: zipfile.ZipFile,
    folder: PurePosixPath,
    names: list[str],
    public: object,
    report: PackageReport,
) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    assert isinstance(public, Ed25519PublicKey)
    try:
        manifest, body, signature = manifest_from_json(zf.read(str(folder / "manifest.json")))
    except ValueError as exc:
        report.problems.append(f"{folder}/manifest.json: {exc}")
        return
    if not verify_signature(body, signature, public):
        report.problems.append(f"{folder}/manifest.json: signature does not match")
    link = genesis_link(manifest.recording_id)
    for s in manifest.segments:
        link = chain_link(
            link,
            index=s.index,
            name=s.name,
            sha256=s.sha256,
            start=s.start,
            end=s.end,
            size=s.bytes,
        )
        if link != s.chain:
            report.problems.append(f"{folder}/{s.name}: chain link does not match the manifest")
        member = str(folder / s.name)
        if member in names:
            report.segments += 1
            if _sha(zf, member) != s.sha256:
                report.problems.append(f"{member}: differs from the signed manifest")
