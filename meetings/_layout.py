"""Where each site goes in the composite picture.  Pure core.

Three layouts, as on the governance video network's MCU terminals:

- ``grid``: every site in an equal tile, as square a grid as fits (2×2 for four, 3×3 for
  nine …), the picture's aspect kept;
- ``speaker``: the active speaker (or the spotlit site) large on top, the others in a strip
  of small tiles along the bottom;
- ``single``: one site full screen (spotlight, roll call 点名, tour 轮巡).

Tiles are aligned to even pixels so the YUV 4:2:0 planes of the encoder line up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Layout", "Tile", "compute_layout"]


class Layout(StrEnum):
    GRID = "grid"
    SPEAKER = "speaker"
    SINGLE = "single"


@dataclass(frozen=True, slots=True)
class Tile:
    participant: str
    x: int
    y: int
    width: int
    height: int

    @property
    def center(self) -> tuple[int, int]:
        return self.x + self.width // 2, self.y + self.height // 2


def _even(value: float) -> int:
    return int(value) & ~1


def _grid(ids: Sequence[str], x: int, y: int, width: int, height: int) -> list[Tile]:
    count = len(ids)
    if count == 0:
        return []
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    tile_w, tile_h = _even(width / columns), _even(height / rows)
    tiles = []
    for index, pid in enumerate(ids):
        row, column = divmod(index, columns)
        # centre a short last row
        in_row = min(columns, count - row * columns)
        offset = (width - in_row * tile_w) // 2 if in_row < columns else 0
        tiles.append(
            Tile(pid, _even(x + offset + column * tile_w), _even(y + row * tile_h), tile_w, tile_h)
        )
    return tiles


def compute_layout(
    layout: Layout,
    participants: Sequence[str],
    *,
    focus: str | None,
    width: int,
    height: int,
) -> list[Tile]:
    """The tiles of ``participants`` (in joining order) on a ``width`` × ``height`` picture.

    ``focus`` is the site shown large (``speaker``) or alone (``single``): the spotlit
    site, the one called in a roll call, the tour's current site, else the active speaker;
    without one the first site is used.
    """
    ids = list(participants)
    if not ids:
        return []
    if focus not in ids:
        focus = ids[0]
    if layout is Layout.SINGLE or len(ids) == 1:
        return [Tile(focus, 0, 0, _even(width), _even(height))]
    if layout is Layout.GRID:
        return _grid(ids, 0, 0, width, height)
    others = [pid for pid in ids if pid != focus]
    strip_h = _even(height / 4)
    main_h = _even(height - strip_h)
    main_w = min(_even(main_h * width / height), _even(width))
    tiles = [Tile(focus, _even((width - main_w) / 2), 0, main_w, main_h)]
    per_row = max(4, len(others))
    tile_w = _even(width / per_row)
    offset = _even((width - tile_w * len(others)) / 2)
    for index, pid in enumerate(others):
        tiles.append(Tile(pid, offset + index * tile_w, main_h, tile_w, strip_h))
    return tiles
