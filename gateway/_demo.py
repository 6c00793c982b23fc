"""Demo organisation and accounts for ``make demo`` (麻阳苗族自治县, 431226).

Division codes below the county are illustrative (real-looking, not official).  Every demo
account shares one password, printed by ``make demo`` and the README; never use it in
production.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from core import (
    SYSTEM,
    Accounts,
    Database,
    Role,
    Room,
    StaffMember,
    Unit,
    User,
    level_of,
    parent_code,
    record,
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


async def seed_demo(db: Database, accounts: Accounts) -> bool:
    """Create the demo organisation and users; returns False when they already exist."""
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
        return existing is not None
