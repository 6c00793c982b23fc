"""First start of a real deployment: the root unit and the first administrator."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ._accounts import Accounts
from ._audit import record
from ._authz import Principal, Role
from ._models import Unit, User
from ._units import level_of, validate_code
from .errors import ConflictError, InvalidInputError

__all__ = ["initialize"]


async def initialize(
    session: AsyncSession,
    accounts: Accounts,
    actor: Principal,
    *,
    unit_code: str,
    unit_name: str,
    admin: str,
    password: str,
    display_name: str = "",
) -> tuple[Unit, User]:
    """Create the installation's root unit and its first administrator, once.

    The root is the unit this gateway serves (a county, or a township that runs its own);
    it has no parent in the database.  A database that already holds a unit or an account
    is refused: ``init`` never touches a running installation (nor one seeded for the demo).
    """
    try:
        validate_code(unit_code)
    except ValueError as exc:
        raise InvalidInputError(str(exc), code="bad_unit_code") from None
    if not unit_name.strip() or len(unit_name.strip()) > 200:
        raise InvalidInputError("unit name must be 1–200 characters", code="bad_name")
    units = await session.scalar(select(func.count()).select_from(Unit))
    users = await session.scalar(select(func.count()).select_from(User))
    if units or users:
        raise ConflictError(
            f"the database is already initialised ({units} units, {users} accounts); "
            "add units with 'units import' and accounts with 'user add'",
            code="already_initialized",
        )
    # Check the password before anything is written (create_user checks it again).
    accounts.policy.check(password, admin.strip().lower())
    unit = Unit(
        code=unit_code,
        name=unit_name.strip(),
        level=level_of(unit_code).value,
        parent_code=None,
    )
    session.add(unit)
    await session.flush()
    user = await accounts.create_user(
        session,
        actor,
        username=admin,
        password=password,
        unit_code=unit_code,
        role=Role.ADMIN,
        display_name=display_name,
    )
    await record(
        session,
        actor,
        "gateway.init",
        object_type="unit",
        object_id=unit_code,
        unit_code=unit_code,
        detail={"name": unit.name, "admin": user.username},
    )
    return unit, user
