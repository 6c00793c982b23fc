"""The demo cases seed through the service and show what the demo is for."""

from __future__ import annotations

import secrets

from cases import CaseQuery, CaseService
from core import SYSTEM, Database, SecretBox
from gateway._demo import seed_demo_cases


async def test_demo_cases(db: Database) -> None:
    box = SecretBox(secrets.token_bytes(32))
    await seed_demo_cases(db, box)
    service = CaseService(db, box)
    page = await service.search(SYSTEM, CaseQuery())
    assert page.total == 5
    by_summary = {c.summary[:4]: c for c in page.cases}
    escalated = by_summary["两户因山"]
    assert (escalated.level, escalated.status) == ("township", "in_mediation")
    assert by_summary["务工人员"].due == "township"  # three failures at the village
    assert by_summary["夫妻因赡"].status == "closed"
    assert not any(c.flagged for c in page.cases)
    detail = await service.get(SYSTEM, escalated.id)
    assert detail.sessions[0].linked_leader == "张明亮"
    revealed = await service.reveal(SYSTEM, escalated.id, escalated.parties[0].id)
    assert revealed.id_number == "431226197805120016"
