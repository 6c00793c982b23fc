"""The ground floor: settings, database, organisation, accounts, authorization, audit, errors."""

from ._accounts import (
    AccountLockedError,
    Accounts,
    LoginFailedError,
    NewToken,
    SessionChange,
    SignedIn,
    SignInThrottledError,
    principal_of,
)
from ._audit import AuditBreak, in_scope, record, verify_chain
from ._authz import ROLE_PERMISSIONS, Permission, Principal, Role, authorize, can
from ._db import Base, Database, UTCDateTime, utcnow
from ._install import initialize
from ._migrate import SchemaNotCurrentError, check_schema, migrate
from ._models import ApiToken, AuditEntry, Room, StaffMember, Unit, User, WebSession
from ._org import Organisation, RoomKind, UnitImport, UnitNode, build_tree
from ._passwords import PasswordPolicy, WeakPasswordError
from ._secretbox import SecretBox, SecretBoxError, create_secret_file
from ._settings import (
    AppSettings,
    ClusterSettings,
    DatabaseSettings,
    HttpSettings,
    LogSettings,
    RestreamSettings,
    SecuritySettings,
    Settings,
    StorageSettings,
    UplinkSettings,
    WebRtcSettings,
    load_settings,
)
from ._unit_csv import UnitCsvError, UnitRow, decode_units_csv, parse_units_csv
from ._units import Level, contains, level_of, parent_code, scope_prefix, validate_code
from .errors import (
    AuthenticationError,
    ConflictError,
    GatewayError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    UnavailableError,
)

SYSTEM = Principal("system", 0, "gateway", "000000000000", Role.ADMIN)
"""The gateway acting on its own (demo seeding, background jobs) — audited as ``system:gateway``."""

__all__ = [
    "ROLE_PERMISSIONS",
    "SYSTEM",
    "AccountLockedError",
    "Accounts",
    "ApiToken",
    "AppSettings",
    "AuditBreak",
    "AuditEntry",
    "AuthenticationError",
    "Base",
    "ClusterSettings",
    "ConflictError",
    "Database",
    "DatabaseSettings",
    "GatewayError",
    "HttpSettings",
    "InvalidInputError",
    "Level",
    "LogSettings",
    "LoginFailedError",
    "NewToken",
    "NotFoundError",
    "Organisation",
    "PasswordPolicy",
    "Permission",
    "PermissionDeniedError",
    "Principal",
    "RateLimitedError",
    "RestreamSettings",
    "Role",
    "Room",
    "RoomKind",
    "SchemaNotCurrentError",
    "SecretBox",
    "SecretBoxError",
    "SecuritySettings",
    "SessionChange",
    "Settings",
    "SignInThrottledError",
    "SignedIn",
    "StaffMember",
    "StorageSettings",
    "UTCDateTime",
    "UnavailableError",
    "Unit",
    "UnitCsvError",
    "UnitImport",
    "UnitNode",
    "UnitRow",
    "UplinkSettings",
    "User",
    "WeakPasswordError",
    "WebRtcSettings",
    "WebSession",
    "authorize",
    "build_tree",
    "can",
    "check_schema",
    "contains",
    "create_secret_file",
    "decode_units_csv",
    "in_scope",
    "initialize",
    "level_of",
    "load_settings",
    "migrate",
    "parent_code",
    "parse_units_csv",
    "principal_of",
    "record",
    "scope_prefix",
    "utcnow",
    "validate_code",
    "verify_chain",
]
