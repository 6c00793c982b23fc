"""The case service on the real database (SQLite, and PostgreSQL in the second leg)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from cases import (
    NO_RECORDER_NOTE,
    CaseNotFoundError,
    CaseQuery,
    EscalationNotAllowed,
    InvalidCaseInputError,
    PartyInput,
    RecordingRef,
    RoomNotAllowedError,
)
from cases._errors import (
    InvalidIdNumberError,
    InvalidPhoneError,
    ReopenReasonRequired,
    UnknownChoiceError,
)
from cases._models import CasePartyRow, CaseRow
from core import AuditEntry, Database, PermissionDeniedError, Role
from tests.cases.service_helpers import (
    COUNTY,
    GC,
    GC_VILLAGE,
    HPX,
    HPX_VILLAGE,
    ID_NUMBER,
    NAME,
    PHONE,
    counts,
    intake_input,
    make_services,
    mediation_room,
    session_input,
    who,
)

VILLAGER = who(HPX_VILLAGE)
TOWNSHIP = who(HPX)
COUNTY_ADMIN = who(COUNTY, Role.ADMIN, "county.admin")


async def test_intake_numbers_per_unit_and_year_and_concurrently(db: Database) -> None:
    s = make_services(db)
    first = await s.cases.intake(VILLAGER, intake_input())
    assert first.summary.number == f"{HPX_VILLAGE}-2024-000001"
    assert first.summary.level == "village" and first.summary.status == "received"
    other_unit = await s.cases.intake(TOWNSHIP, intake_input())
    assert other_unit.summary.number == f"{HPX}-2024-000001"

    together = await asyncio.gather(*(s.cases.intake(VILLAGER, intake_input()) for _ in range(6)))
    numbers = sorted(int(d.summary.number[-6:]) for d in together)
    assert numbers == [2, 3, 4, 5, 6, 7]

    s.clock.advance(days=240)  # 2025 in China
    assert (await s.cases.intake(VILLAGER, intake_input())).summary.number.endswith("-2025-000001")


async def test_pii_sealed_at_rest_masked_in_lists_revealed_with_audit(db: Database) -> None:
    s = make_services(db)
    detail = await s.cases.intake(VILLAGER, intake_input())
    async with db.transaction() as session:
        stored = list(await session.scalars(select(CasePartyRow)))
    raw = " ".join(
        f"{p.name_sealed} {p.id_number_sealed} {p.phone_sealed} {p.name_masked}"
        f" {p.id_number_masked} {p.phone_masked}"
        for p in stored
    )
    for secret in (NAME, ID_NUMBER, PHONE, "舒大军", "5821234"):
        assert secret not in raw
    applicant = detail.summary.parties[0]
    assert (applicant.name, applicant.id_number, applicant.phone) == (
        "滕*花",
        "4312**********1235",
        "138****1234",
    )
    page = await s.cases.search(TOWNSHIP, CaseQuery())
    assert page.total == 1 and page.cases[0].parties == detail.summary.parties

    before = await counts(db)
    auditor = who(COUNTY, Role.AUDITOR)
    with pytest.raises(PermissionDeniedError):
        await s.cases.reveal(auditor, detail.summary.id, applicant.id)
    assert await counts(db) == before

    revealed = await s.cases.reveal(TOWNSHIP, detail.summary.id, applicant.id)
    assert (revealed.name, revealed.id_number, revealed.phone) == (NAME, ID_NUMBER, PHONE)
    async with db.transaction() as session:
        last = await session.scalar(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1))
    assert last is not None and last.action == "case.pii.reveal"
    assert last.actor == TOWNSHIP.actor and NAME not in last.detail and ID_NUMBER not in last.detail


async def test_pii_never_reaches_the_logs(db: Database, caplog: pytest.LogCaptureFixture) -> None:
    s = make_services(db)
    caplog.set_level(logging.DEBUG)
    detail = await s.cases.intake(VILLAGER, intake_input())
    await s.cases.search(VILLAGER, CaseQuery())
    await s.cases.reveal(VILLAGER, detail.summary.id, detail.summary.parties[0].id)
    text = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "case received" in text
    for secret in (NAME, ID_NUMBER, PHONE):
        assert secret not in text


@pytest.mark.parametrize(
    ("changes", "error", "needle"),
    [
        ({"dispute_type": "kitchen"}, UnknownChoiceError, "unknown dispute_type 'kitchen'"),
        ({"channel": "pigeon"}, UnknownChoiceError, "unknown channel"),
        (
            {"parties": [PartyInput(name=NAME, id_number="431226199001011234")]},
            InvalidIdNumberError,
            "check character",
        ),
        ({"parties": [PartyInput(name=NAME, phone="12345")]}, InvalidPhoneError, "not a phone"),
        ({"parties": [PartyInput(name="  ")]}, InvalidCaseInputError, "party name"),
        (
            {"parties": [PartyInput(name=NAME, role="respondent")]},
            InvalidCaseInputError,
            "applicant",
        ),
        ({"summary": " "}, InvalidCaseInputError, "summary"),
        ({"townships": ["431226203201"]}, InvalidCaseInputError, "not a township"),
        ({"mediator": "county.audit"}, InvalidCaseInputError, "not an active mediator"),
    ],
)
async def test_bad_intake_changes_nothing(
    db: Database, changes: dict[str, object], error: type[Exception], needle: str
) -> None:
    s = make_services(db)
    before = await counts(db)
    with pytest.raises(error, match=needle):
        await s.cases.intake(VILLAGER, intake_input(**changes))
    assert await counts(db) == before


async def test_intake_outside_scope_is_refused(db: Database) -> None:
    s = make_services(db)
    with pytest.raises(PermissionDeniedError):
        await s.cases.intake(VILLAGER, intake_input(unit=GC_VILLAGE))
    with pytest.raises(PermissionDeniedError):
        await s.cases.intake(who(COUNTY, Role.AUDITOR), intake_input(unit=COUNTY))


async def test_village_to_township_to_county_to_leader_and_close(db: Database) -> None:
    s = make_services(db)
    case = (await s.cases.intake(VILLAGER, intake_input(mediator="hpxc.mediator"))).summary
    assert case.mediator == "hpxc.mediator"
    village_room, township_room = (
        await mediation_room(db, HPX_VILLAGE),
        await mediation_room(db, HPX),
    )
    for _ in range(2):
        s.clock.advance(hours=2)
        await s.cases.sessions.add(VILLAGER, case.id, session_input(village_room))
    before = await counts(db)
    with pytest.raises(EscalationNotAllowed, match="2 times without success") as refused:
        await s.cases.escalate(VILLAGER, case.id, "township")
    assert refused.value.code == "escalation_too_early"
    with pytest.raises(EscalationNotAllowed) as skipped:
        await s.cases.escalate(VILLAGER, case.id, "county")
    assert skipped.value.code == "level_skipped"
    assert await counts(db) == before

    s.clock.advance(hours=2)
    session = await s.cases.sessions.add(
        VILLAGER,
        case.id,
        session_input(
            village_room,
            outcome="partly",
            linked_leader="张明亮",
            resident_official="田小燕",
            attendees=["龙秀英"],
        ),
    )
    assert session.linked_leader == "张明亮" and session.resident_official == "田小燕"
    assert session.recording_id is None and session.recording_note == NO_RECORDER_NOTE
    detail = await s.cases.get(VILLAGER, case.id)
    assert detail.assessment.due is not None and detail.assessment.due.target.value == "township"
    assert detail.summary.due == "township"

    s.clock.advance(hours=1)
    up = await s.cases.escalate(VILLAGER, case.id, "township", "三次调解未成")
    assert (up.summary.level, up.summary.current_unit, up.summary.status) == (
        "township",
        HPX,
        "escalated",
    )
    assert up.assessment.flags == ()
    # The village still reads it, but the township handles it now.
    await s.cases.get(VILLAGER, case.id)
    with pytest.raises(PermissionDeniedError):
        await s.cases.sessions.add(VILLAGER, case.id, session_input(village_room))
    # A room of the village is not a room of the township: refused, nothing written.
    before = await counts(db)
    with pytest.raises(RoomNotAllowedError, match=f"not a mediation room of unit {HPX}"):
        await s.cases.sessions.add(TOWNSHIP, case.id, session_input(village_room))
    with pytest.raises(InvalidCaseInputError, match="village-level sessions only"):
        await s.cases.sessions.add(
            TOWNSHIP, case.id, session_input(township_room, linked_leader="张明亮")
        )
    assert await counts(db) == before

    for _ in range(2):
        s.clock.advance(hours=2)
        await s.cases.sessions.add(TOWNSHIP, case.id, session_input(township_room))
    s.clock.advance(hours=1)
    at_county = await s.cases.escalate(TOWNSHIP, case.id, "county")
    assert at_county.summary.current_unit == COUNTY
    with pytest.raises(PermissionDeniedError):
        await s.cases.close(TOWNSHIP, case.id, resolved=True, note="协议已履行")
    with pytest.raises(EscalationNotAllowed) as early:
        await s.cases.take_charge(COUNTY_ADMIN, case.id, "县委副书记 滕某")
    assert early.value.code == "leader_too_early"
    county_room = await mediation_room(db, COUNTY)
    s.clock.advance(hours=2)
    await s.cases.sessions.add(
        COUNTY_ADMIN, case.id, session_input(county_room, mediator_kind="centre_staff")
    )
    for _ in range(2):
        s.clock.advance(hours=2)
        await s.cases.sessions.add(
            COUNTY_ADMIN, case.id, session_input(county_room, mediator_kind="professional")
        )
    led = await s.cases.take_charge(COUNTY_ADMIN, case.id, "县委副书记 滕某")
    assert led.summary.status == "leader_in_charge" and led.summary.leader_in_charge
    s.clock.advance(days=3)
    await s.cases.sessions.add(
        COUNTY_ADMIN, case.id, session_input(county_room, "resolved_written")
    )
    closed = await s.cases.close(COUNTY_ADMIN, case.id, resolved=True, note="签订书面协议")
    assert closed.summary.status == "closed" and closed.assessment.flags == ()
    with pytest.raises(ReopenReasonRequired):
        await s.cases.reopen(COUNTY_ADMIN, case.id, "  ")
    reopened = await s.cases.reopen(COUNTY_ADMIN, case.id, "协议未履行，当事人再次申请")
    assert reopened.summary.status == "reopened" and reopened.summary.closed_at is None
    kinds = [e.kind for e in reopened.events]
    assert kinds[0] == "intake" and kinds[-2:] == ["close", "reopen"]
    assert kinds.count("escalate") == 2 and "leader" in kinds


async def test_cross_township_case_goes_straight_to_the_county(db: Database) -> None:
    s = make_services(db)
    case = (await s.cases.intake(VILLAGER, intake_input(townships=[GC]))).summary
    detail = await s.cases.get(VILLAGER, case.id)
    assert detail.assessment.cross_township and detail.assessment.due is not None
    assert detail.assessment.due.target.value == "county"
    up = await s.cases.escalate(VILLAGER, case.id, "county", "涉及高村镇")
    assert up.summary.current_unit == COUNTY and up.assessment.flags == ()


async def test_kept_past_threshold_is_flagged(db: Database) -> None:
    s = make_services(db)
    case = (await s.cases.intake(TOWNSHIP, intake_input())).summary
    room = await mediation_room(db, HPX)
    for _ in range(2):
        s.clock.advance(hours=3)
        await s.cases.sessions.add(TOWNSHIP, case.id, session_input(room))
    s.clock.advance(days=9)
    detail = await s.cases.get(TOWNSHIP, case.id)
    assert [f.kind.value for f in detail.assessment.flags] == ["kept_past_threshold"]
    page = await s.cases.search(TOWNSHIP, CaseQuery())
    assert page.cases[0].flagged and page.cases[0].due == "county"


async def test_scope_of_reads(db: Database) -> None:
    s = make_services(db)
    mine = (await s.cases.intake(VILLAGER, intake_input())).summary
    theirs = (await s.cases.intake(who(GC_VILLAGE), intake_input(dispute_type="labour"))).summary
    with pytest.raises(CaseNotFoundError):
        await s.cases.get(VILLAGER, theirs.id)
    with pytest.raises(CaseNotFoundError):
        await s.cases.get(who(GC), mine.id)
    assert (await s.cases.get(who(COUNTY, Role.AUDITOR), mine.id)).summary.id == mine.id
    assert [c.id for c in (await s.cases.search(VILLAGER, CaseQuery())).cases] == [mine.id]
    county = await s.cases.search(who(COUNTY, Role.AUDITOR), CaseQuery(dispute_type="labour"))
    assert [c.id for c in county.cases] == [theirs.id]
    found = await s.cases.search(COUNTY_ADMIN, CaseQuery(text=mine.number[-6:], unit=HPX))
    assert [c.id for c in found.cases] == [mine.id]
    with pytest.raises(UnknownChoiceError):
        await s.cases.search(COUNTY_ADMIN, CaseQuery(status="lost"))


class RoomRecorder:
    """A recorder double that keeps what it was asked, as the recordings module would."""

    def __init__(self) -> None:
        self.started: list[tuple[int, str, int]] = []
        self.stopped: list[str] = []

    async def start(self, *, room_id: int, case_number: str, session_id: int) -> RecordingRef:
        self.started.append((room_id, case_number, session_id))
        return RecordingRef(f"rec-{session_id}", "recording")

    async def stop(self, recording_id: str) -> RecordingRef:
        self.stopped.append(recording_id)
        return RecordingRef(recording_id, "recording attached (3 segments)")


async def test_start_and_finish_records_the_room_through_the_recorder(db: Database) -> None:
    recorder = RoomRecorder()
    s = make_services(db, recorder=recorder)
    case = (await s.cases.intake(VILLAGER, intake_input())).summary
    room = await mediation_room(db, HPX_VILLAGE)
    when = (s.clock.now + timedelta(days=1)).isoformat()
    planned = await s.cases.sessions.add(
        VILLAGER, case.id, session_input(room, None, mode="schedule", scheduled_for=when)
    )
    assert planned.state == "scheduled" and recorder.started == []
    s.clock.advance(days=1)
    running = await s.cases.sessions.start(VILLAGER, case.id, planned.id)
    assert running.state == "in_progress" and running.recording_id == f"rec-{planned.id}"
    assert recorder.started == [(room, case.number, planned.id)]
    with pytest.raises(EscalationNotAllowed, match="still running"):
        await s.cases.close(VILLAGER, case.id, resolved=True, note="调解成功")
    s.clock.advance(hours=1)
    done = await s.cases.sessions.finish(VILLAGER, case.id, planned.id, outcome="resolved_oral")
    assert done.state == "done" and done.outcome == "resolved_oral"
    assert recorder.stopped == [f"rec-{planned.id}"]
    assert done.recording_note == "recording attached (3 segments)"


async def test_petition_link(db: Database) -> None:
    s = make_services(db)
    case = (await s.cases.intake(VILLAGER, intake_input())).summary
    with pytest.raises(InvalidCaseInputError, match="between the intake"):
        await s.cases.link_petition(VILLAGER, case.id, filed_on="2024-04-01", reference="X-1")
    s.clock.advance(days=3)
    linked = await s.cases.link_petition(
        VILLAGER, case.id, filed_on="2024-05-08", reference="麻信访〔2024〕12号"
    )
    assert linked.petition_ref == "麻信访〔2024〕12号" and linked.petitioned_at is not None
    async with db.transaction() as session:
        row = await session.get(CaseRow, case.id)
    assert row is not None and row.petitioned_at == linked.petitioned_at
