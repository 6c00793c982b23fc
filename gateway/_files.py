"""Files at rest: the data directory is the gateway's alone.

Recordings, evidence packages, thumbnails, the database and ``secret.key`` are created
under the data directory.  At start the process sets ``umask 077`` (every file it creates
is 0600, every directory 0700, whatever the service manager's umask), makes the data
directory itself 0700, and warns about what an earlier version or a hand-made copy left
readable by others: a warning, not a refusal, because fixing a large archive's modes is
an administrator's decision (``chmod -R go= DATA_DIR``).
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

__all__ = ["UMASK", "DataDirReport", "check_data_dir", "secure_data_dir"]

log = logging.getLogger("gateway.files")

UMASK = 0o077
#: a big archive is not walked to its end at every start: this many entries are enough
#: to tell whether modes are wrong
_SCAN_LIMIT = 20_000


@dataclass(frozen=True, slots=True)
class DataDirReport:
    scanned: int
    too_open: int  # entries readable, writable or searchable by group or others
    examples: tuple[str, ...]


def check_data_dir(data_dir: Path, limit: int = _SCAN_LIMIT) -> DataDirReport:
    """Entries under ``data_dir`` (itself included) that group or others may access."""
    scanned = too_open = 0
    examples: list[str] = []
    for root, dirs, files in os.walk(data_dir):
        dirs.sort()
        for path in [Path(root), *(Path(root) / name for name in sorted(files))]:
            try:
                mode = path.lstat().st_mode
            except OSError:
                continue
            scanned += 1
            if not stat.S_ISLNK(mode) and mode & 0o077:
                too_open += 1
                if len(examples) < 3:
                    examples.append(f"{path} ({stat.filemode(mode)})")
            if scanned >= limit:
                return DataDirReport(scanned, too_open, tuple(examples))
    return DataDirReport(scanned, too_open, tuple(examples))


def secure_data_dir(data_dir: Path) -> DataDirReport:
    """Set the umask, create the data directory 0700 (or narrow it to 0700), and warn
    about entries in it that others may read."""
    os.umask(UMASK)
    data_dir.mkdir(parents=True, exist_ok=True)
    if data_dir.stat().st_mode & 0o077:
        data_dir.chmod(0o700)
        log.warning("data directory was open to others; now 0700", extra={"path": str(data_dir)})
    report = check_data_dir(data_dir)
    if report.too_open:
        log.warning(
            "files in the data directory are readable by others; run chmod -R go= on it",
            extra={
                "path": str(data_dir),
                "too_open": report.too_open,
                "scanned": report.scanned,
                "examples": list(report.examples),
            },
        )
    return report
