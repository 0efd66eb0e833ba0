"""Two managers claim the same complaint at the same moment, through a real HTTP server on
PostgreSQL: one gets it, the other a 409, and nothing is half-written."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from werkzeug.serving import make_server

from monitor.accounts import services as accounts
from monitor.complaints import services as complaints
from monitor.complaints.models import AssignmentMode, Complaint
from monitor.config import Config
from monitor.staff import services as staff
from tests.fixtures.background import app_context, wait_until
from tests.servers import free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path: Path, committed_database_url: str) -> Iterator[tuple[str, object]]:
    config = Config(
        instance_path=tmp_path / "instance",
        database_url=committed_database_url,
        secret_key="test-secret",
        base_url="http://monitor.test",
    )
    with app_context(config) as app:
        port = free_port()
        httpd = make_server("127.0.0.1", port, app, threaded=True)
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{port}", app
        finally:
            httpd.shutdown()
            thread.join()


def claim(base: str, complaint_id: int, token: str) -> int:
    request = urllib.request.Request(
        f"{base}/api/v1/complaints/{complaint_id}/claim",
        method="POST",
        headers={"Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        assert json.loads(error.read())["status"] == error.code
        return error.code


def waiting_on_locks(engine: object) -> int:
    """UPDATEs of complaints waiting on a lock (a new transaction each time: PostgreSQL keeps
    one snapshot of its activity statistics per transaction)."""
    with engine.connect() as observer:  # type: ignore[attr-defined]
        return observer.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE complaints%'"
            )
        ).scalar()


@pytest.mark.parametrize("empty_database_url", ["postgresql"], indirect=True)
def test_two_concurrent_claims_one_wins_one_gets_409(server):
    base, app = server
    database = app.extensions["monitor.db"]
    with database.transaction() as session:
        managers = [
            staff.create_user(session, f"vp{n}@acme.example", f"VP {n}", ["manager"])
            for n in (1, 2)
        ]
        tokens = [staff.create_token(session, m, "race")[1] for m in managers]
        complaints.set_assignment_rule(session, AssignmentMode.MANUAL)
        account = accounts.create_account(
            session,
            code="GZ-0003",
            name="广州地铁",
            account_class="A",
            account_type="repeat",
            currency="CNY",
            timezone="Asia/Shanghai",
        )
        complaint = complaints.open_complaint(
            session,
            account_id=account.id,
            channel="hotline",
            category="service",
            severity="high",
            description="Escalator maintenance missed",
        )
        complaint_id, version = complaint.id, complaint.version
        manager_ids = [m.id for m in managers]

    # Hold the complaint's row lock, so that both requests are surely inside their UPDATE at
    # the same time; then let go and see how PostgreSQL settles it.
    with database.engine.connect() as blocker:
        blocker.execute(
            text("SELECT id FROM complaints WHERE id = :id FOR UPDATE"), {"id": complaint_id}
        )
        statuses: dict[int, int] = {}
        start = threading.Barrier(2)

        def run(index: int) -> None:
            start.wait()
            statuses[index] = claim(base, complaint_id, tokens[index])

        threads = [threading.Thread(target=run, args=(i,)) for i in (0, 1)]
        for thread in threads:
            thread.start()
        wait_until(
            lambda: waiting_on_locks(database.engine) == 2, "both claims to wait on the row lock"
        )
        blocker.rollback()
        for thread in threads:
            thread.join(30)

    assert sorted(statuses.values()) == [200, 409]
    winner = manager_ids[next(i for i, s in statuses.items() if s == 200)]
    with database.transaction() as session:
        stored = session.get(Complaint, complaint_id)
        assert stored.assignee_id == winner
        assert stored.version == version + 1  # one claim written
        claims = session.execute(
            text(
                "SELECT count(*) FROM audit_events WHERE entity_type = 'complaint' "
                "AND entity_id = :id AND action = 'claimed'"
            ),
            {"id": str(complaint_id)},
        ).scalar()
        assert claims == 1
