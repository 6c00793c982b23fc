"""Retention, legal hold, the low-disk guard and room policies, applied periodically.

The decisions are the pure rules of :mod:`recordings._policy`; this shell gathers the
facts (index rows, linked cases, disk usage), carries out the decisions, and audits every
deletion with its reason.  A held recording is never deleted, whoever asks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select

from core import SYSTEM, Database, Principal, record

from ._archive import RecordingArchive
from ._errors import LegalHoldError, RecordingError
from ._foreign_tables import case_facts, room_cameras
from ._models import RecordingGapRow, RecordingRow, RecordingSegmentRow
from ._policy import (
    Decision,
    DiskPlan,
    DiskRules,
    RecordingFacts,
    RecordingMode,
    RetentionRules,
    legal_hold,
    low_disk_plan,
    retention_decisions,
    should_record,
)
from ._recorder import RunningRecording
from ._room_policies import room_policies

__all__ = ["Housekeeper", "HousekeepingSettings", "RoomRecorder"]

log = logging.getLogger("gateway.recordings")


@dataclass(frozen=True, slots=True)
class HousekeepingSettings:
    retention: RetentionRules = field(default_factory=RetentionRules)
    disk: DiskRules = field(default_factory=DiskRules)
    interval: float = 60.0  # retention and the disk guard
    #: room policies are read again this often: a policy set through any gateway process
    #: reaches the cameras every other process runs within this delay
    policy_interval: float = 5.0
    timezone: str = "Asia/Shanghai"


class RoomRecorder(Protocol):
    """What the housekeeper drives: the running recordings, and start/stop with a reason."""

    def running(self) -> Sequence[RunningRecording]: ...

    def has_camera(self, camera_id: int) -> bool: ...

    def recording_camera(self, camera_id: int) -> str | None: ...

    async def start_recording(
        self, actor: Principal, camera_id: int, reason: str, *, mode: RecordingMode
    ) -> RecordingRow: ...

    async def stop_recording(
        self, actor: Principal, recording_id: str, reason: str
    ) -> RecordingRow: ...


class Housekeeper:
    def __init__(
        self,
        db: Database,
        archive: RecordingArchive,
        recorder: RoomRecorder,
        settings: HousekeepingSettings | None = None,
    ) -> None:
        self.db = db
        self.archive = archive
        self.recorder = recorder
        self.settings = settings or HousekeepingSettings()
        self.alarm: str | None = None  # the low-disk alarm while it stands
        self.deleted = 0
        #: (total, free) bytes of the recordings' file system at the guard's last round.
        self.disk: tuple[int, int] | None = None
        #: The wall clock room schedules are read against (tests set a fixed one).
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self._wake = asyncio.Event()
        self._policy_lock = asyncio.Lock()  # one policy round at a time (loop, wake, callers)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="recordings housekeeping")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        next_sweep = 0.0
        while True:
            try:
                await self.apply_room_policies()
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + self.settings.interval
                    await self.guard_disk()
                    await self.apply_retention()
            except Exception:
                log.exception("recordings housekeeping failed; retrying next round")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(
                    min(self.settings.policy_interval, self.settings.interval)
                ):
                    await self._wake.wait()
            self._wake.clear()

    def wake(self) -> None:
        """Run a round now (a room policy changed) instead of at the next interval."""
        self._wake.set()

    async def _facts(self) -> list[RecordingFacts]:
        async with self.db.read() as session:
            rows = (
                await session.scalars(select(RecordingRow).where(RecordingRow.state != "deleted"))
            ).all()
            cases = await case_facts(session, [r.id for r in rows])
        return [
            RecordingFacts(
                r.id,
                r.mode,
                r.started_at,
                None if r.state == "recording" else (r.stopped_at or r.started_at),
                r.bytes,
                tuple(cases[r.id]),
            )
            for r in rows
        ]

    async def apply_retention(self, now: datetime | None = None) -> list[Decision]:
        decisions = retention_decisions(
            await self._facts(), self.settings.retention, now or datetime.now(UTC)
        )
        for decision in decisions:
            if decision.delete:
                await self.delete(SYSTEM, decision.recording_id, decision.reason)
        return decisions

    async def guard_disk(self) -> DiskPlan:
        root = self.archive.root
        await asyncio.to_thread(root.mkdir, parents=True, exist_ok=True)
        usage = await asyncio.to_thread(shutil.disk_usage, root)
        self.disk = (usage.total, usage.free)
        return await self.apply_disk_plan(usage.total, usage.free)

    async def apply_disk_plan(self, total: int, free: int) -> DiskPlan:
        plan = low_disk_plan(total, free, await self._facts(), self.settings.disk)
        if plan.alarm != self.alarm:
            if plan.alarm:
                log.error("recordings low-disk alarm", extra={"alarm": plan.alarm})
            self.alarm = plan.alarm
        for decision in plan.stop:
            with contextlib.suppress(RecordingError):
                await self.recorder.stop_recording(SYSTEM, decision.recording_id, decision.reason)
        for decision in plan.delete:
            await self.delete(SYSTEM, decision.recording_id, decision.reason)
        return plan

    async def delete(self, actor: Principal, recording_id: str, reason: str) -> None:
        """Remove a recording's files and index, audited; refuses a held one."""
        facts = {f.recording_id: f for f in await self._facts()}
        fact = facts.get(recording_id)
        if fact is None:
            return
        hold = legal_hold(fact)
        if hold is not None:
            raise LegalHoldError(f"recording {recording_id} cannot be deleted: {hold}")
        if fact.active:
            raise LegalHoldError(f"recording {recording_id} is still recording; stop it first")
        async with self.db.transaction() as session:
            row = await session.get(RecordingRow, recording_id)
            assert row is not None
            directory = self.archive.directory(row)
            await asyncio.to_thread(shutil.rmtree, directory, True)
            await session.execute(
                delete(RecordingSegmentRow).where(RecordingSegmentRow.recording_id == recording_id)
            )
            await session.execute(
                delete(RecordingGapRow).where(RecordingGapRow.recording_id == recording_id)
            )
            row.state, row.deleted_at, row.delete_reason = "deleted", datetime.now(UTC), reason
            await record(
                session,
                actor,
                "recording.delete",
                object_type="recording",
                object_id=recording_id,
                unit_code=row.unit_code,
                detail={"reason": reason, "bytes": row.bytes, "segments": row.segment_count},
            )
        self.deleted += 1

    async def apply_room_policies(self) -> None:
        """Start continuous and scheduled recordings that should run, stop those that end.

        Only recordings a room policy started are stopped here: manual recordings and
        mediation-session recordings end by their own rules, whatever the room's policy.
        """
        async with self._policy_lock:
            await self._apply_room_policies()

    async def _apply_room_policies(self) -> None:
        recorder = self.recorder
        now = self.clock().astimezone(ZoneInfo(self.settings.timezone))
        async with self.db.read() as session:
            wanted: dict[int, tuple[RecordingMode, bool]] = {}
            for room_id, policy in await room_policies(session):
                on = policy.mode in POLICY_MODES and should_record(
                    policy, now, session_running=False
                )
                for camera_id in await room_cameras(session, room_id):
                    wanted[camera_id] = (policy.mode, on)
        running = {
            int(r.camera_id): r.recording_id
            for r in recorder.running()
            if r.camera_id.isdigit() and r.policy in POLICY_VALUES
        }
        for camera_id, (mode, on) in wanted.items():
            try:
                if on and camera_id not in running and recorder.has_camera(camera_id):
                    if recorder.recording_camera(camera_id) is None:  # else manual or session
                        reason = f"room policy: {mode}"
                        await recorder.start_recording(SYSTEM, camera_id, reason, mode=mode)
                elif not on and camera_id in running:
                    reason = (
                        "room schedule ended"
                        if mode is RecordingMode.SCHEDULE
                        else f"room policy changed to {mode.value}"
                    )
                    await recorder.stop_recording(SYSTEM, running[camera_id], reason)
            except RecordingError as exc:  # one camera's trouble must not stall the others
                log.warning(
                    "room policy not applied", extra={"camera": camera_id, "error": str(exc)}
                )


POLICY_MODES = (RecordingMode.CONTINUOUS, RecordingMode.SCHEDULE)
POLICY_VALUES = frozenset(m.value for m in POLICY_MODES)
