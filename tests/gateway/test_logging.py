"""The gateway's log handler follows ``sys.stderr`` instead of outliving the stream it saw.

``main()`` run in-process (CLI tests under pytest's ``capsys``) configures logging while
``sys.stderr`` is a capture buffer that is closed after the test; a handler bound to that
buffer then failed every later record with "Logging error … I/O operation on closed file".
"""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest

from gateway._logging import configure_logging


@pytest.fixture
def root_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_records_after_the_first_stderr_closed_reach_the_current_one(
    root_logging: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    configure_logging("INFO", "json")
    logging.getLogger("gateway.test").info("while configured", extra={"step": 1})
    assert json.loads(first.getvalue())["msg"] == "while configured"
    first.close()  # what pytest does to a capsys buffer after the test

    second = io.StringIO()
    monkeypatch.setattr(sys, "stderr", second)
    logging.getLogger("gateway.test").warning("after the first stream closed")
    text = second.getvalue()
    assert "Logging error" not in text
    assert json.loads(text)["msg"] == "after the first stream closed"


def test_secrets_stay_out_of_the_json_line(
    root_logging: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = io.StringIO()
    monkeypatch.setattr(sys, "stderr", out)
    configure_logging("INFO", "json")
    logging.getLogger("gateway.test").info("sign-in", extra={"password": "hunter2", "user": "a"})
    entry = json.loads(out.getvalue())
    assert entry["password"] == "[redacted]" and entry["user"] == "a"
    assert "hunter2" not in out.getvalue()
