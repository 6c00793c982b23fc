"""Demo organisation and accounts for ``make demo`` (麻阳苗族自治县, 431226).

Division codes below the county are illustrative (real-looking, not official).  Every demo
account shares one password, printed by ``make demo`` and the README; never use it in
production.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from core import (
    SYSTEM,
    Accounts,
    Database,
    Role,
    Room,
    SecretBox,
    StaffMember,
    Unit,
    User,
    level_of,
    parent_code,
    record,
    utcnow,
)

__all__ = ["DEMO_PASSWORD", "DEMO_USERS", "seed_demo"]

DEMO_PASSWORD = "Zongzhi-demo-2026"

COUNTY = ("431226000000", "麻阳苗族自治县综治中心")
UNITS: list[tuple[str, str]] = [
    COUNTY,
    ("431226203000", "麻阳苗族自治县和平溪乡综治中心"),
    ("431226203201", "和平溪乡和平溪村综治中心"),
    ("431226203202", "和平溪乡楠木桥村综治中心"),
    ("431226203203", "和平溪乡大坳村综治中心"),
    ("431226203204", "和平溪乡路口村综治中心"),
    ("431226100000", "麻阳苗族自治县高村镇综治中心"),
    ("431226100201", "高村镇陶伊村综治中心"),
]


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    unit: str
    role: Role


DEMO_USERS: list[DemoUser] = [
    DemoUser("county.admin", "县综治中心管理员", "431226000000", Role.ADMIN),
    DemoUser("county.watch", "县综治中心值班员", "431226000000", Role.OPERATOR),
    DemoUser("county.audit", "县综治中心审计员", "431226000000", Role.AUDITOR),
    DemoUser("hpx.admin", "和平溪乡管理员", "431226203000", Role.ADMIN),
    DemoUser("hpx.chair", "和平溪乡政法委员", "431226203000", Role.CHAIR),
    DemoUser("hpx.mediator", "和平溪乡调解员", "431226203000", Role.MEDIATOR),
    DemoUser("hpx.watch", "和平溪乡值班员", "431226203000", Role.OPERATOR),
    DemoUser("hpxc.mediator", "和平溪村调解员", "431226203201", Role.MEDIATOR),
    DemoUser("nmq.watch", "楠木桥村网格员", "431226203202", Role.OPERATOR),
    DemoUser("gc.admin", "高村镇管理员", "431226100000", Role.ADMIN),
]

STAFF: dict[str, list[tuple[str, str, str]]] = {
    "431226000000": [
        ("向志华", "县综治中心主任", "0745-5822110"),
        ("滕建军", "副主任", "0745-5822111"),
    ],
    "431226203000": [
        ("张明亮", "乡政法委员", "13807451201"),
        ("田小燕", "综治专干", "13807451202"),
        ("舒国强", "人民调解委员会主任", "13807451203"),
    ],
    "431226203201": [
        ("杨德福", "村综治中心主任", "13907452301"),
        ("龙秀英", "网格员", "13907452302"),
    ],
}


async def seed_demo(db: Database, accounts: Accounts, box: SecretBox | None = None) -> bool:
    """Create the demo organisation and users; returns False when they already exist.

    With ``box`` (the gateway's key for personal data) it also creates a handful of dispute
    cases; without it there are none, because parties' data cannot be sealed.
    """
    async with db.transaction() as session:
        if await session.get(Unit, COUNTY[0]) is not None:
            return False
        for code, name in UNITS:
            session.add(
                Unit(
                    code=code,
                    name=name,
                    level=level_of(code).value,
                    parent_code=parent_code(code),
                    address="",
                    phone="",
                )
            )
            await session.flush()
            short = name.removesuffix("综治中心")
            session.add(Room(unit_code=code, kind="reception", name=f"{short}群众接待室"))
            session.add(Room(unit_code=code, kind="mediation", name=f"{short}矛盾纠纷调解室"))
        for code, people in STAFF.items():
            for position, (name, title, phone) in enumerate(people):
                session.add(
                    StaffMember(
                        unit_code=code, name=name, title=title, phone=phone, position=position
                    )
                )
        await record(
            session,
            SYSTEM,
            "demo.seed",
            object_type="unit",
            object_id=COUNTY[0],
            unit_code=COUNTY[0],
            detail={"units": len(UNITS)},
        )
        for demo in DEMO_USERS:
            await accounts.create_user(
                session,
                SYSTEM,
                username=demo.username,
                password=DEMO_PASSWORD,
                unit_code=demo.unit,
                role=demo.role,
                display_name=demo.display_name,
            )
        existing = await session.scalar(select(User.id).limit(1))
    if box is not None:
        await seed_demo_cases(db, box)
    return existing is not None


class _DemoClock:
    """Demo cases happen over the past weeks: the service reads this clock, seeding sets it."""

    def __init__(self, start: datetime) -> None:
        self.start = self.now = start

    def __call__(self) -> datetime:
        return self.now

    def at(self, days: float) -> None:
        self.now = self.start + timedelta(days=days)


async def seed_demo_cases(db: Database, box: SecretBox) -> None:
    """Five cases over the last three weeks: one reported village → township, one whose
    report to the township is due now, one resolved, one in mediation, one petitioned."""
    from cases import CaseService, IntakeInput, PartyInput, SessionInput

    clock = _DemoClock(utcnow() - timedelta(days=21))
    service = CaseService(db, box, clock=clock)
    async with db.transaction() as session:
        rooms = {
            r.unit_code: r.id
            for r in await session.scalars(select(Room).where(Room.kind == "mediation"))
        }

    async def intake(
        day: float,
        unit: str,
        kind: str,
        summary: str,
        parties: list[PartyInput],
        channel: str = "window",
    ) -> int:
        clock.at(day)
        detail = await service.intake(
            SYSTEM, IntakeInput(kind, channel, summary, parties, unit=unit)
        )
        return detail.summary.id

    async def mediate(day: float, case_id: int, unit: str, outcome: str, **kw: object) -> None:
        clock.at(day)
        await service.sessions.add(
            SYSTEM,
            case_id,
            SessionInput(room_id=rooms[unit], mediators=["杨德福"], outcome=outcome, **kw),  # type: ignore[arg-type]
        )

    village, township, gc_village = "431226203201", "431226203000", "431226100201"
    leaders = {"linked_leader": "张明亮", "resident_official": "田小燕"}
    land = await intake(
        0,
        village,
        "land_forest",
        "两户因山林界址发生争议，涉及杉木林约3亩",
        [
            PartyInput("滕树林", id_number="431226197805120016", phone="13907451111"),
            PartyInput("杨再兴", role="respondent", phone="13907452222"),
        ],
    )
    for day in (1, 3, 5):
        await mediate(day, land, village, "failed", **leaders)
    clock.at(6)
    await service.escalate(SYSTEM, land, "township", "村级三次调解未成，依3221机制上报乡综治中心")
    await mediate(9, land, township, "partly")

    wages = await intake(
        4,
        village,
        "labour",
        "务工人员反映工程款拖欠工资约2.6万元",
        [PartyInput("龙秀兰", phone="13807453333"), PartyInput("某建筑劳务队", role="respondent")],
        channel="grid_worker",
    )
    for day in (8, 12, 19):
        await mediate(day, wages, village, "failed" if day < 19 else "partly", **leaders)

    family = await intake(
        10,
        township,
        "family",
        "夫妻因赡养老人问题发生矛盾",
        [PartyInput("舒爱华", phone="0745-5831234")],
    )
    await mediate(11, family, township, "resolved_written")
    clock.at(11.1)
    await service.close(SYSTEM, family, resolved=True, note="签订书面调解协议")

    neighbours = await intake(
        15,
        gc_village,
        "neighbourhood",
        "宅基地排水沟占用引发邻里纠纷",
        [PartyInput("陶文斌", phone="13607454444")],
        channel="phone",
    )
    await mediate(16, neighbours, gc_village, "failed")

    debt = await intake(
        13,
        township,
        "contract_debt",
        "农资赊购欠款纠纷",
        [PartyInput("向国平", phone="13707455555")],
        channel="petition_office",
    )
    clock.at(14)
    await service.link_petition(
        SYSTEM,
        debt,
        filed_on=(clock.now + timedelta(hours=8)).date().isoformat(),
        reference="麻信〔2026〕0318号",
    )
