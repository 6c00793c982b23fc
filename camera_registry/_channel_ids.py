"""GB/T 28181 channel IDs of cameras (编码规则A, gb28181.md §1.1): pure rules.

``CCCCCCCC II TTT N SSSSSS``: the first 8 digits of the unit's division code (center
code), industry 00, type 132 (IPC), network flag 0, and a 6-digit serial — the camera's
database id, so two registrations can never draw the same number.  An administrator may
edit the ID (the platform's own numbering plan); it must stay 20 digits of type 131/132.
"""

from __future__ import annotations

__all__ = ["CHANNEL_TYPES", "channel_id", "check_channel_id"]

#: Type codes a camera channel may carry: 131 camera, 132 IPC.
CHANNEL_TYPES = ("131", "132")


def channel_id(unit_code: str, serial: int, *, kind: str = "132", industry: str = "00") -> str:
    """The default channel ID of camera ``serial`` in unit ``unit_code``."""
    if not (unit_code.isascii() and unit_code.isdigit()) or len(unit_code) < 6:
        raise ValueError(f"unit code {unit_code!r} is not a division code")
    if not 0 <= serial <= 999_999:
        raise ValueError(f"channel serial {serial} does not fit in 6 digits")
    return f"{unit_code[:8].ljust(8, '0')}{industry}{kind}0{serial:06d}"


def check_channel_id(value: str) -> str:
    """``value`` stripped, or ValueError saying what a channel ID must look like."""
    value = value.strip()
    if len(value) != 20 or not (value.isascii() and value.isdigit()):
        raise ValueError(f"channel ID {value!r} must be exactly 20 digits")
    if value[10:13] not in CHANNEL_TYPES:
        raise ValueError(
            f"channel ID {value} has type {value[10:13]}; a camera channel is 131 or 132 "
            "(digits 11-13)"
        )
    return value
