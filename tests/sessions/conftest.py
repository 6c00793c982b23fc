"""Fixtures of the sessions tests (defined in tests/sessions/fixtures.py)."""

from tests.sessions.fixtures import camera, camera_ref, clip_cache, manager, service

__all__ = ["camera", "camera_ref", "clip_cache", "manager", "service"]
