"""Fixtures of the sessions tests (defined in tests/sessions/fixtures.py)."""

from tests.sessions.fixtures import camera, camera_ref, manager, service

__all__ = ["camera", "camera_ref", "manager", "service"]
