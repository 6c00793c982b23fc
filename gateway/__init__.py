"""The process: application factory, CLI, background-task ownership, and the uplink."""

from .app import SECRETS, create_app

__all__ = ["SECRETS", "create_app"]
