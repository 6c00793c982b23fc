"""Lease shares: simulated processes that each follow plan_leases settle on a fair split,
take over a dead process's cameras, make room for a newcomer, and then stop moving."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from camera_registry._balance import fair_share, plan_leases


def _round(owners: dict[int, int | None], alive: list[int]) -> int:
    """Every live process plans on the same snapshot, then acts in turn (as the database
    serialises their claims).  Returns how many leases changed hands."""
    moved = 0
    snapshot = dict(owners)
    loads = {str(n): sum(1 for o in snapshot.values() if o == n) for n in alive}
    for node in alive:
        owned = [c for c, o in snapshot.items() if o == node]
        free = [c for c, o in owners.items() if o is None or o not in alive]
        plan = plan_leases(owned, me=str(node), loads=loads, cameras=len(owners), free=len(free))
        for camera in plan.release:
            owners[camera] = None
            moved += 1
        for camera in sorted(free)[: plan.claim]:
            if owners[camera] is None or owners[camera] not in alive:
                owners[camera] = node
                moved += 1
    return moved


def _settle(owners: dict[int, int | None], alive: list[int]) -> int:
    rounds = 0
    while _round(owners, alive):
        rounds += 1
        assert rounds < 10, "shares never settle"
    return rounds


@given(
    cameras=st.integers(0, 120),
    start=st.integers(1, 6),
    events=st.lists(st.sampled_from(["join", "die"]), max_size=6),
)
@settings(max_examples=200)
def test_shares_settle_fair_and_complete(cameras: int, start: int, events: list[str]) -> None:
    owners: dict[int, int | None] = dict.fromkeys(range(cameras))
    alive = list(range(start))
    next_node = start
    for event in [None, *events]:
        if event == "join":
            alive.append(next_node)
            next_node += 1
        elif event == "die" and len(alive) > 1:
            alive.pop(0)  # its leases expire; nobody hands them back
        _settle(owners, alive)
        counts = [sum(1 for o in owners.values() if o == node) for node in alive]
        assert all(o in alive for o in owners.values())  # every camera owned by a live one
        assert max(counts) <= fair_share(cameras, len(alive))
        assert max(counts) - min(counts) <= 1
        assert _round(owners, alive) == 0  # and then nothing moves


def test_a_newcomer_gets_its_share_from_the_others() -> None:
    owners: dict[int, int | None] = dict.fromkeys(range(12))
    _settle(owners, [0, 1])
    assert sorted(sum(1 for o in owners.values() if o == n) for n in (0, 1)) == [6, 6]
    _settle(owners, [0, 1, 2])
    assert sorted(sum(1 for o in owners.values() if o == n) for n in (0, 1, 2)) == [4, 4, 4]
