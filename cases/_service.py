"""The case service: intake, reading and searching, 3221 escalation, 包案, closing, reopening,
petitions, mediator assignment and audited reveal of a party's personal data.

Every method runs in one transaction and writes its audit entry in it; every refusal is
raised before anything is written, so a refused request changes nothing.  Mediation
sessions live in :mod:`cases._mediation`, ledgers and the KPI in :mod:`cases._ledger_service`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from cases._access import (
    add_event,
    audit_case,
    load_facts,
    set_status,
    visible_case,
    writable_case,
)
from cases._calendar import china_date
from cases._errors import (
    CaseError,
    EscalationNotAllowed,
    InvalidCaseInputError,
    PartyFault,
    PetitionAlreadyLinkedError,
)
from cases._inputs import CaseQuery, IntakeInput, PartyInput, PartyRole, parse_day, require_text
from cases._mediation import MediationSessions
from cases._models import (
    CaseCounter,
    CaseEscalationRow,
    CasePartyRow,
    CaseRow,
    CaseSessionRow,
)
from cases._reading import detail, search_conditions, summaries
from cases._recorder import SessionRecorder
from cases._report_sql import china_midnight
from cases._rules import RulesConfig, check_escalation, check_leader_charge
from cases._status import check_reopen
from cases._type_config import DisputeTypes, load_catalogue
from cases._types import CaseStatus, Channel, parse_choice
from cases._validation import (
    format_case_number,
    mask_id_number,
    mask_name,
    mask_phone,
    validate_id_number,
    validate_phone,
)
from cases._views import (
    CaseDetail,
    CasePage,
    RevealedParty,
)
from core import (
    Database,
    Level,
    NotFoundError,
    Permission,
    Principal,
    Role,
    SecretBox,
    Unit,
    User,
    authorize,
    can,
    contains,
    level_of,
    record,
    scope_prefix,
    utcnow,
    validate_code,
)

__all__ = ["CaseService"]

log = logging.getLogger("gateway.cases")

_MAX_PARTIES = 20
_IN_PROGRESS = "in_progress"


class CaseService:
    """Dispute cases for callers limited to their level scope (一级一权限)."""

    def __init__(
        self,
        db: Database,
        box: SecretBox,
        *,
        recorder: SessionRecorder | None = None,
        rules: RulesConfig | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self._box = box
        self.rules = rules or RulesConfig()
        self._clock = clock
        self.sessions = MediationSessions(db, recorder=recorder, rules=self.rules, clock=clock)
        self.types = DisputeTypes(db, clock=clock)

    # ----------------------------------------------------------------- intake

    async def intake(self, actor: Principal, data: IntakeInput) -> CaseDetail:
        """统一受理: number the case in its unit-year and store it with its sealed parties."""
        now = self._clock()
        channel = parse_choice(Channel, data.channel, field="channel")
        summary = require_text(data.summary, "summary")
        unit = (data.unit or actor.unit_code).strip()
        try:
            validate_code(unit)
        except ValueError as exc:
            raise InvalidCaseInputError(f"receiving unit: {exc}") from None
        authorize(actor, Permission.CASE_WRITE, unit)
        parties = [self._party(i, p, china_date(now)) for i, p in enumerate(data.parties)]
        if not parties or len(parties) > _MAX_PARTIES:
            raise InvalidCaseInputError(f"a case has 1 to {_MAX_PARTIES} parties")
        if not any(p.role == PartyRole.APPLICANT for p in parties):
            raise InvalidCaseInputError("name at least one applicant (申请人)")
        townships = self._townships(unit, data.townships)
        async with self.db.transaction() as session:
            # Checked against the list as it is in this transaction, before anything is written.
            dispute_type = (await load_catalogue(session)).for_intake(data.dispute_type)
            if await session.get(Unit, unit) is None:
                raise NotFoundError(f"no unit {unit}; check the code", code="unit_not_found")
            mediator = await self._mediator(session, data.mediator, unit)
            year = china_date(now).year
            sequence = await self._next_sequence(session, unit, year)
            case = CaseRow(
                number=format_case_number(unit, year, sequence),
                receiving_unit=unit,
                current_unit=unit,
                level=level_of(unit).value,
                status=CaseStatus.RECEIVED.value,
                dispute_type=dispute_type.key,
                channel=channel.value,
                summary=summary,
                townships=",".join(sorted(townships)),
                mediator_id=mediator.id if mediator else None,
                received_at=now,
                created_by=actor.actor,
            )
            session.add(case)
            await session.flush()
            for party in parties:
                await self._store_party(session, case, party)
            add_event(session, case, actor, "intake", now, status_from=None)
            await audit_case(
                session,
                actor,
                "case.intake",
                case,
                {
                    "type": dispute_type.key,
                    "channel": channel.value,
                    "parties": len(parties),
                    "mediator": mediator.username if mediator else None,
                },
            )
            log.info("case received", extra={"case": case.number, "unit": unit})
            return await detail(session, case, self._clock(), self.rules)

    def _party(self, index: int, data: PartyInput, today: date) -> PartyInput:
        """The party checked field by field; an error names the party and the field."""
        field = "role"
        try:
            role = parse_choice(PartyRole, data.role, field="party_role")
            field = "name"
            name = require_text(data.name, "party name", max_length=50)
            field = "id_number"
            id_number = validate_id_number(data.id_number, today=today) if data.id_number else None
            field = "phone"
            phone = validate_phone(data.phone) if data.phone else None
        except CaseError as exc:
            exc.party = PartyFault(index, data.role, (data.name or "").strip(), field)
            raise
        return PartyInput(name=name, role=role.value, id_number=id_number, phone=phone)

    def _townships(self, unit: str, codes: list[str]) -> set[str]:
        own = unit[:9] + "000" if level_of(unit) is not Level.COUNTY else None
        out = set()
        for code in codes:
            try:
                if level_of(code) is not Level.TOWNSHIP or not contains(unit[:6] + "000000", code):
                    raise ValueError(f"{code} is not a township of this county")
            except ValueError as exc:
                raise InvalidCaseInputError(f"involved townships: {exc}") from None
            if code != own:
                out.add(code)
        return out

    async def _mediator(
        self, session: AsyncSession, username: str | None, unit: str
    ) -> User | None:
        if not username:
            return None
        user = await session.scalar(select(User).where(User.username == username.strip()))
        if (
            user is None
            or user.disabled
            or not contains(user.unit_code, unit)
            or not can(
                Principal("user", user.id, user.username, user.unit_code, _role(user)),
                Permission.CASE_WRITE,
                unit,
            )
        ):
            raise InvalidCaseInputError(
                f"{username!r} is not an active mediator account that may handle cases of {unit}"
            )
        return user

    async def _next_sequence(self, session: AsyncSession, unit: str, year: int) -> int:
        """Take the next number of the unit-year: an upsert, the first write of the intake.

        Its row lock (PostgreSQL) or the write lock (SQLite, ``BEGIN IMMEDIATE``) is held
        until commit, so concurrent intakes get consecutive numbers and never the same one.
        """
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (
            insert(CaseCounter)
            .values(unit_code=unit, year=year, last=1)
            .on_conflict_do_update(
                index_elements=[CaseCounter.unit_code, CaseCounter.year],
                set_={"last": CaseCounter.last + 1},
            )
            .returning(CaseCounter.last)
        )
        return int((await session.execute(statement)).scalar_one())

    async def _store_party(self, session: AsyncSession, case: CaseRow, party: PartyInput) -> None:
        row = CasePartyRow(
            case_id=case.id,
            role=party.role,
            name_sealed="",
            name_masked=mask_name(party.name),
            id_number_masked=mask_id_number(party.id_number) if party.id_number else None,
            phone_masked=mask_phone(party.phone) if party.phone else None,
        )
        session.add(row)
        await session.flush()  # the row id binds the ciphertexts to this party
        context = f"case_party:{row.id}"
        row.name_sealed = self._box.seal(party.name, context=context)
        if party.id_number:
            row.id_number_sealed = self._box.seal(party.id_number, context=context)
        if party.phone:
            row.phone_sealed = self._box.seal(party.phone, context=context)

    # ------------------------------------------------------------------ reads

    async def get(self, actor: Principal, case_id: int) -> CaseDetail:
        async with self.db.transaction() as session:
            case = await visible_case(session, actor, case_id)
            return await detail(session, case, self._clock(), self.rules)

    async def mediations_in_progress(self, actor: Principal) -> dict[int, str]:
        """Rooms of the caller's scope where a mediation session runs now → the case number
        (for the live wall)."""
        prefix = scope_prefix(actor.unit_code)
        async with self.db.read() as session:
            rows = await session.execute(
                select(CaseSessionRow.room_id, CaseRow.number)
                .join(CaseRow, CaseRow.id == CaseSessionRow.case_id)
                .where(
                    CaseSessionRow.state == _IN_PROGRESS,
                    CaseSessionRow.unit_code.startswith(prefix, autoescape=True),
                )
            )
            return {int(room): str(number) for room, number in rows}

    async def search(self, actor: Principal, query: CaseQuery) -> CasePage:
        """Cases in scope matching every given filter, newest first; parties masked."""
        authorize(actor, Permission.CASE_READ, actor.unit_code)
        limit = min(max(query.limit, 1), 200)
        async with self.db.transaction() as session:
            conditions = search_conditions(actor, query, await load_catalogue(session))
            total = await session.scalar(
                select(func.count()).select_from(CaseRow).where(*conditions)
            )
            rows = list(
                await session.scalars(
                    select(CaseRow)
                    .where(*conditions)
                    .order_by(CaseRow.received_at.desc(), CaseRow.id.desc())
                    .limit(limit)
                    .offset(max(query.offset, 0))
                )
            )
            found = await summaries(session, rows, self._clock(), self.rules)
        return CasePage(int(total or 0), tuple(found))

    # ------------------------------------------------------------- 3221 steps

    async def escalate(
        self, actor: Principal, case_id: int, to_level: str, reason: str = ""
    ) -> CaseDetail:
        """上报: refused with the rule's reason unless 3221 allows it now."""
        target = parse_choice(Level, to_level, field="to_level")
        note = reason.strip()[:2000]
        async with self.db.transaction() as session:
            case = await writable_case(session, actor, case_id)
            await self._no_session_running(session, case, "reporting it up")
            now = self._clock()
            check_escalation(await load_facts(session, case), target, now=now, config=self.rules)
            to_unit = (
                case.current_unit[:9] + "000"
                if target is Level.TOWNSHIP
                else case.current_unit[:6] + "000000"
            )
            if await session.get(Unit, to_unit) is None:
                raise NotFoundError(
                    f"unit {to_unit} is not registered; an administrator must add it first",
                    code="unit_not_found",
                )
            session.add(
                CaseEscalationRow(
                    case_id=case.id,
                    at=now,
                    from_level=case.level,
                    to_level=target.value,
                    from_unit=case.current_unit,
                    to_unit=to_unit,
                    by=actor.actor,
                    reason=note,
                )
            )
            from_unit, case.level, case.current_unit = case.current_unit, target.value, to_unit
            set_status(session, case, actor, CaseStatus.ESCALATED, "escalate", now, note)
            await audit_case(
                session,
                actor,
                "case.escalate",
                case,
                {"from": from_unit, "to": to_unit, "level": target.value},
            )
            return await detail(session, case, self._clock(), self.rules)

    async def take_charge(self, actor: Principal, case_id: int, leader: str) -> CaseDetail:
        """县领导包案: a county leader takes personal charge, when the rule allows it."""
        name = require_text(leader, "county leader", max_length=100)
        async with self.db.transaction() as session:
            case = await writable_case(session, actor, case_id)
            now = self._clock()
            check_leader_charge(await load_facts(session, case), now=now, config=self.rules)
            case.leader_name, case.leader_at, case.leader_by = name, now, actor.actor
            set_status(session, case, actor, CaseStatus.LEADER_IN_CHARGE, "leader", now, name)
            await audit_case(session, actor, "case.leader", case, {"leader": name})
            return await detail(session, case, self._clock(), self.rules)

    async def close(
        self, actor: Principal, case_id: int, *, resolved: bool, note: str
    ) -> CaseDetail:
        """办结销号 with the result: resolved (化解) or ended without agreement."""
        text = require_text(note, "closing note")
        async with self.db.transaction() as session:
            case = await writable_case(session, actor, case_id)
            await self._no_session_running(session, case, "closing it")
            now = self._clock()
            set_status(session, case, actor, CaseStatus.CLOSED, "close", now, text)
            case.closed_at, case.closure_resolved, case.closure_note = now, resolved, text
            await audit_case(session, actor, "case.close", case, {"resolved": resolved})
            return await detail(session, case, self._clock(), self.rules)

    async def reopen(self, actor: Principal, case_id: int, reason: str) -> CaseDetail:
        """重新启动 a closed case, always with a reason."""
        async with self.db.transaction() as session:
            case = await writable_case(session, actor, case_id)
            why = check_reopen(CaseStatus(case.status), reason)
            now = self._clock()
            set_status(session, case, actor, CaseStatus.REOPENED, "reopen", now, why)
            case.closed_at = case.closure_resolved = case.closure_note = None
            await audit_case(session, actor, "case.reopen", case, {"reason": why})
            return await detail(session, case, self._clock(), self.rules)

    async def _no_session_running(self, session: AsyncSession, case: CaseRow, doing: str) -> None:
        running = await session.scalar(
            select(func.count())
            .select_from(CaseSessionRow)
            .where(CaseSessionRow.case_id == case.id, CaseSessionRow.state == _IN_PROGRESS)
        )
        if running:
            raise EscalationNotAllowed(
                f"a mediation session of this case is still running; finish it before {doing}",
                code="session_in_progress",
            )

    # ------------------------------------------------- petitions, assignment

    async def link_petition(
        self, actor: Principal, case_id: int, *, filed_on: str, reference: str
    ) -> CaseDetail:
        """Link the case to its initial petition (初信初访): the date it was filed and its ref."""
        day = parse_day(filed_on, "petition date")
        ref = require_text(reference, "petition reference", max_length=100)
        async with self.db.transaction() as session:
            case = await writable_case(session, actor, case_id)
            if case.petitioned_at is not None:
                raise PetitionAlreadyLinkedError(
                    f"case {case.number} is already linked to petition {case.petition_ref}"
                )
            now = self._clock()
            if not china_date(case.received_at) <= day <= china_date(now):
                raise InvalidCaseInputError(
                    f"the petition date must lie between the intake "
                    f"({china_date(case.received_at)}) and today"
                )
            case.petitioned_at = max(china_midnight(day), case.received_at)
            case.petition_ref = ref
            add_event(session, case, actor, "petition", now, status_from=case.status, note=ref)
            await audit_case(session, actor, "case.petition", case, {"reference": ref})
            return await detail(session, case, self._clock(), self.rules)

    async def assign(self, actor: Principal, case_id: int, username: str) -> CaseDetail:
        async with self.db.transaction() as session:
            case = await writable_case(session, actor, case_id)
            mediator = await self._mediator(session, username, case.current_unit)
            assert mediator is not None
            case.mediator_id = mediator.id
            add_event(
                session,
                case,
                actor,
                "assign",
                self._clock(),
                status_from=case.status,
                note=mediator.username,
            )
            await audit_case(session, actor, "case.assign", case, {"mediator": mediator.username})
            return await detail(session, case, self._clock(), self.rules)

    async def reveal(self, actor: Principal, case_id: int, party_id: int) -> RevealedParty:
        """The full personal data of one party; needs ``case.reveal_pii``, always audited."""
        async with self.db.transaction() as session:
            case = await visible_case(session, actor, case_id, Permission.CASE_REVEAL_PII)
            party = await session.get(CasePartyRow, party_id)
            if party is None or party.case_id != case.id:
                raise NotFoundError(f"case {case.number} has no party {party_id}")
            context = f"case_party:{party.id}"
            revealed = RevealedParty(
                id=party.id,
                role=party.role,
                name=self._box.open(party.name_sealed, context=context),
                id_number=self._open(party.id_number_sealed, context),
                phone=self._open(party.phone_sealed, context),
            )
            await record(
                session,
                actor,
                "case.pii.reveal",
                object_type="case_party",
                object_id=party.id,
                unit_code=case.current_unit,
                detail={"case": case.number, "fields": ["name", "id_number", "phone"]},
            )
            return revealed

    def _open(self, sealed: str | None, context: str) -> str | None:
        return None if sealed is None else self._box.open(sealed, context=context)


def _role(user: User) -> Role:
    return Role(user.role)
