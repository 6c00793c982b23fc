"""How many cameras a gateway process should own: the pure core of camera leases.

Every enabled camera is owned by exactly one live process through a lease row in the
database (see :mod:`._leases`).  Each process decides, from one snapshot of the lease
table, what to claim and what to hand back; nothing else coordinates them:

- the fair share is ``ceil(cameras / live processes)``;
- a process under its share claims free leases (no owner, or the owner stopped renewing)
  up to its share;
- a process over its share hands back the excess, which is how a process that joins
  gets its share; and when nothing is free yet someone is below ``floor(cameras /
  processes)``, the busiest process (lowest id among equals) gives one back per round,
  so the split ends within one camera of even;
- the same snapshot gives the same answer on every process, so shares settle in a round
  or two and stay put.

Cameras to hand back are the highest ids, so repeated rounds release the same ones.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass

__all__ = ["LeasePlan", "fair_share", "plan_leases"]


@dataclass(frozen=True, slots=True)
class LeasePlan:
    claim: int  # how many free leases to try to take now
    release: tuple[int, ...]  # camera ids to stop and hand back


def fair_share(cameras: int, processes: int) -> int:
    """The most cameras one process should own."""
    return math.ceil(cameras / max(1, processes)) if cameras else 0


def plan_leases(
    owned: Collection[int], *, me: str, loads: Mapping[str, int], cameras: int, free: int
) -> LeasePlan:
    """What process ``me`` does this round.

    ``owned``: the cameras it holds; ``loads``: cameras held by every live process, this
    one included; ``cameras``: enabled cameras in all; ``free``: leases nobody holds
    (unowned, or their owner stopped renewing).
    """
    processes = max(1, len(loads))
    high = fair_share(cameras, processes)
    low = cameras // processes
    held = len(owned)
    if held < high:
        return LeasePlan(claim=min(high - held, free), release=())
    if held > high:
        return LeasePlan(claim=0, release=tuple(sorted(owned)[high:]))
    if free:
        return LeasePlan(claim=0, release=())
    # everyone within the high share, yet someone below the low one: the busiest process
    # (lowest id among equals) gives one camera, round by round, until the split is even
    busiest = min(loads, key=lambda node: (-loads[node], node))
    if held > low and busiest == me and min(loads.values()) < low:
        return LeasePlan(claim=0, release=tuple(sorted(owned)[-1:]))
    return LeasePlan(claim=0, release=())
