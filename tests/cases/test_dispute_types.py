"""The configurable dispute-type list: seeded standard types, local types mapped to a ledger
column, deactivation without deletion, county-only configuration, audited changes."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from cases import (
    STANDARD_TYPES,
    CaseQuery,
    DisputeType,
    DisputeTypeExistsError,
    DisputeTypeInput,
    DisputeTypeNotFoundError,
    DisputeTypePatch,
    InvalidCaseInputError,
    Month,
    compute_ledger,
    cross_check,
)
from cases._dispute_types import DisputeTypeCatalogue, DisputeTypeDef
from cases._errors import UnknownChoiceError
from cases._models import CaseRow
from cases._report_sql import in_subtree
from cases._store import load_snapshots
from cases._type_config import load_catalogue
from core import AuditEntry, Database, PermissionDeniedError, Role

from .service_helpers import COUNTY, HPX, HPX_VILLAGE, intake_input, make_services, who

ADMIN = who(COUNTY, Role.ADMIN, "county.admin")
TEA = DisputeTypeInput(
    key="tea_garden", label_zh="茶园承包纠纷", label_en="Tea garden", ledger_column="land_forest"
)


def test_catalogue_accepts_active_keys_only_and_lists_them() -> None:
    types = DisputeTypeCatalogue.of(
        [
            DisputeTypeDef("b_local", "乙", "", DisputeType.OTHER, active=False, position=5),
            DisputeTypeDef("a_local", "甲", "A", DisputeType.LABOUR, position=7),
            DisputeTypeDef("other", "其他纠纷", "Other", DisputeType.OTHER, position=1),
        ]
    )
    assert [t.key for t in types.types] == ["other", "b_local", "a_local"]
    assert types.for_intake("a_local").ledger_column is DisputeType.LABOUR
    with pytest.raises(UnknownChoiceError, match=r"use one of: other, a_local$") as info:
        types.for_intake("b_local")
    assert info.value.code == "unknown_dispute_type"
    assert types.for_filter("b_local").key == "b_local"  # old cases stay searchable
    with pytest.raises(UnknownChoiceError, match="'weather'"):
        types.for_filter("weather")
    assert types.label("b_local", "en") == "乙" and types.label("a_local", "en") == "A"
    assert [t.key for t in STANDARD_TYPES] == [t.value for t in DisputeType]
    assert all(t.standard for t in STANDARD_TYPES)


async def test_migration_seeds_the_ten_standard_types(db: Database) -> None:
    async with db.transaction() as session:
        assert (await load_catalogue(session)).types == STANDARD_TYPES


async def test_local_type_counts_under_its_ledger_column(db: Database) -> None:
    s = make_services(db)
    created = await s.cases.types.create(ADMIN, TEA)
    assert (created.ledger_column, created.active, created.standard) == (
        DisputeType.LAND_FOREST,
        True,
        False,
    )
    tea = (await s.cases.intake(who(HPX_VILLAGE), intake_input(dispute_type="tea_garden"))).summary
    await s.cases.intake(who(HPX_VILLAGE), intake_input(dispute_type="land_forest"))
    await s.cases.intake(who(HPX), intake_input(HPX, dispute_type="labour"))
    assert tea.dispute_type == "tea_garden"

    month = Month.of(s.ledgers.today())
    for unit, land, labour in ((HPX_VILLAGE, 2, 0), (HPX, 2, 1), (COUNTY, 2, 1)):
        ledger = await s.ledgers.ledger(who(unit, Role.AUDITOR), unit, month)
        assert set(ledger.by_type) == set(DisputeType) and cross_check(ledger) == []
        assert ledger.by_type[DisputeType.LAND_FOREST] == land
        assert ledger.by_type[DisputeType.LABOUR] == labour
        assert ledger.by_type[DisputeType.OTHER] == 0
        assert sum(ledger.by_type.values()) == ledger.received
        # The SQL ledger and the pure core agree on the mapped column.
        async with db.transaction() as session:
            snaps = await load_snapshots(session, in_subtree(CaseRow.receiving_unit, unit))
        core = compute_ledger(unit, month, snaps, as_of=s.ledgers.today())
        assert core.by_type == ledger.by_type


async def test_deactivated_type_is_refused_at_intake_but_old_cases_keep_it(db: Database) -> None:
    s = make_services(db)
    await s.cases.types.create(ADMIN, TEA)
    old = (await s.cases.intake(who(HPX_VILLAGE), intake_input(dispute_type="tea_garden"))).summary
    changed = await s.cases.types.update(
        ADMIN, "tea_garden", DisputeTypePatch(active=False, label_zh="茶园纠纷")
    )
    assert (changed.active, changed.label_zh) == (False, "茶园纠纷")
    async with db.transaction() as session:
        before = await session.scalar(select(func.count()).select_from(CaseRow))
    for key in ("tea_garden", "kitchen"):
        with pytest.raises(UnknownChoiceError) as info:
            await s.cases.intake(who(HPX_VILLAGE), intake_input(dispute_type=key))
        assert info.value.allowed == tuple(t.value for t in DisputeType)
        assert "use one of: neighbourhood, family" in info.value.message
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(CaseRow)) == before
    page = await s.cases.search(who(HPX_VILLAGE), CaseQuery(dispute_type="tea_garden"))
    assert [c.id for c in page.cases] == [old.id]
    ledger = await s.ledgers.ledger(who(HPX_VILLAGE), HPX_VILLAGE, Month.of(s.ledgers.today()))
    assert ledger.by_type[DisputeType.LAND_FOREST] == 1
    await s.cases.types.update(ADMIN, "tea_garden", DisputeTypePatch(active=True))
    await s.cases.intake(who(HPX_VILLAGE), intake_input(dispute_type="tea_garden"))


async def test_only_the_county_administrator_configures(db: Database) -> None:
    s = make_services(db)
    for actor in (who(HPX, Role.ADMIN), who(COUNTY, Role.MEDIATOR), who(HPX_VILLAGE, Role.ADMIN)):
        with pytest.raises(PermissionDeniedError):
            await s.cases.types.create(actor, TEA)
        with pytest.raises(PermissionDeniedError):
            await s.cases.types.update(actor, "other", DisputeTypePatch(label_zh="别的"))
        assert not s.cases.types.can_configure(actor)
    assert s.cases.types.can_configure(ADMIN)
    # Everyone who works with cases reads the list.
    assert len((await s.cases.types.catalogue(who(HPX_VILLAGE))).types) == 10
    async with db.transaction() as session:
        assert (await load_catalogue(session)).types == STANDARD_TYPES


async def test_bad_changes_are_refused_and_good_ones_audited(db: Database) -> None:
    s = make_services(db)
    await s.cases.types.create(ADMIN, TEA)
    refused = [
        (DisputeTypeInput(key="Tea Garden", label_zh="茶"), InvalidCaseInputError),
        (DisputeTypeInput(key="x", label_zh="茶"), InvalidCaseInputError),
        (DisputeTypeInput(key="tea2", label_zh="  "), InvalidCaseInputError),
        (DisputeTypeInput(key="tea2", label_zh="茶", ledger_column="tea"), UnknownChoiceError),
        (DisputeTypeInput(key="tea2", label_zh="茶", position=-1), InvalidCaseInputError),
        (TEA, DisputeTypeExistsError),
        (DisputeTypeInput(key="labour", label_zh="劳资"), DisputeTypeExistsError),
    ]
    for data, error in refused:
        with pytest.raises(error):
            await s.cases.types.create(ADMIN, data)
    with pytest.raises(DisputeTypeNotFoundError):
        await s.cases.types.update(ADMIN, "weather", DisputeTypePatch(active=False))
    with pytest.raises(InvalidCaseInputError, match="nothing to change"):
        await s.cases.types.update(ADMIN, "other", DisputeTypePatch())
    local = await s.cases.types.create(ADMIN, DisputeTypeInput(key="fishing", label_zh="渔业纠纷"))
    assert local.ledger_column is DisputeType.OTHER and local.position == 120
    keys = [t.key for t in (await s.cases.types.catalogue(ADMIN)).types]
    for key in keys[:-1]:
        await s.cases.types.update(ADMIN, key, DisputeTypePatch(active=False))
    with pytest.raises(InvalidCaseInputError, match="at least one active"):
        await s.cases.types.update(ADMIN, keys[-1], DisputeTypePatch(active=False))
    async with db.transaction() as session:
        actions = list(
            await session.scalars(
                select(AuditEntry.action).where(AuditEntry.action.like("case.dispute_type.%"))
            )
        )
    assert actions.count("case.dispute_type.create") == 2
    assert actions.count("case.dispute_type.update") == len(keys) - 1
