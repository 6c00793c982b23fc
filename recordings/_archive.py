"""Where recordings live on disk, and the key that signs them.

One small object that every part of the package shares instead of reaching into the
service: the writers create directories under :attr:`RecordingArchive.root`, the
housekeeper measures and deletes there, the exporter reads originals from it and signs
with its key, the case links journal into each recording's directory.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from ._errors import RecordingError
from ._models import RecordingRow
from ._signing import SigningKey

__all__ = ["RecordingArchive"]


class RecordingArchive:
    """The recordings directory under the data directory, and its signing key."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.root = data_dir / "recordings"
        self._key: SigningKey | None = None

    async def open(self) -> SigningKey:
        """Load the signing key, creating it on first start (file I/O in a thread)."""
        if self._key is None:
            self._key = await asyncio.to_thread(SigningKey.load_or_create, self.data_dir)
        return self._key

    def signing_key(self) -> SigningKey:
        if self._key is None:
            raise RecordingError(
                "the recording service is not started (its signing key is not loaded yet)",
                code="not_started",
            )
        return self._key

    def directory(self, row: RecordingRow) -> Path:
        """The recording's directory (the index stores it relative to the root)."""
        return self.root / row.path
