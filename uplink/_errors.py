"""Why a registration failed, in the words an operator acts on (the page translates the
code; the API gives both)."""

from __future__ import annotations

from core import GatewayError

__all__ = ["RegistrationError", "UplinkError"]


class UplinkError(GatewayError):
    """Root of the uplink's errors."""

    code = "uplink_error"


class RegistrationError(UplinkError):
    """The platform did not accept the registration; ``code`` says why:

    ``wrong_password``, ``no_answer``, ``connection_refused``, ``refused``,
    ``not_found``, ``keepalive_lost``, ``unregistered_by_platform``, ``disconnected``.
    """

    code = "registration_failed"
