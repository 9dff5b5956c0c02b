"""The opt-in ``*_SESSIONS_CHECK_INTERVAL`` mode: revocation reaches every worker within it.

In-process tests use two apps on one database as two workers and the fake clock. The
multi-process tests run gunicorn workers on real time and prove the bound as the SPEC
states it: once a revocation has committed, every worker refuses the token on every
request that starts more than the interval later — and, with the default interval 0, on
every request that starts after it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, jsonify
from flask.testing import FlaskClient

from flask_strapi_sessions import ConfigError, StrapiSession, UpUser, login_required
from flask_strapi_sessions.session_cache import TrustCache
from tests.mp.server import Server, app_environment, running
from tests.support import (
    UNAUTHORIZED,
    FakeClock,
    TestDatabase,
    bearer,
    error,
    login,
    prepare_tables,
    register,
)

# -- in-process: two apps, one database, the fake clock -------------------------------


@pytest.fixture
def worker(make_app: Callable[..., Flask]) -> Callable[..., Flask]:
    """``worker(**config)``: an app with a protected ``/private`` view."""

    def build(**config: Any) -> Flask:
        app = make_app(**config)

        @app.get("/private")
        @login_required
        def private() -> Any:
            return jsonify(ok=True)

        return app

    return build


@pytest.fixture
def trusting(worker: Callable[..., Flask]) -> Flask:
    """A worker trusting a session check for one second."""
    return worker(UP_SESSIONS_CHECK_INTERVAL=1)


def token_of(client: FlaskClient) -> str:
    register(client)
    jwt: str = login(client).get_json()["jwt"]
    return jwt


def status(app: Flask, token: str) -> int:
    return app.test_client().get("/private", headers=bearer(token)).status_code


def revoke_elsewhere(other: Flask) -> None:
    """Revoke every session as another process would: through the database alone."""
    with other.app_context():
        db = other.extensions["sqlalchemy"]
        db.session.execute(sa.update(StrapiSession).values(status="revoked"))
        db.session.commit()


def statements(app: Flask) -> list[str]:
    seen: list[str] = []
    with app.app_context():
        engine = app.extensions["sqlalchemy"].engine
    sa.event.listen(engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    return seen


def test_a_revocation_elsewhere_is_refused_once_the_interval_has_passed(
    trusting: Flask, worker: Callable[..., Flask], clock: FakeClock
) -> None:
    other = worker()
    token = token_of(trusting.test_client())
    assert status(trusting, token) == 200
    revoke_elsewhere(other)
    assert status(other, token) == 401
    # the documented trade-off: this worker trusts its answer for up to the interval
    clock.advance(0.999)
    assert status(trusting, token) == 200
    clock.advance(0.001)
    assert error(trusting.test_client().get("/private", headers=bearer(token))) == UNAUTHORIZED


def test_within_the_interval_a_worker_reads_the_database_once(
    trusting: Flask, clock: FakeClock
) -> None:
    token = token_of(trusting.test_client())
    seen = statements(trusting)
    for step in (0, 0.25, 0.25, 0.25, 0.249):
        clock.advance(step)
        assert status(trusting, token) == 200
    assert len(seen) == 1
    clock.advance(0.001)
    assert status(trusting, token) == 200
    assert len(seen) == 2


def test_a_revocation_by_the_same_worker_is_refused_at_once(
    trusting: Flask, clock: FakeClock
) -> None:
    client = trusting.test_client()
    token = token_of(client)
    assert status(trusting, token) == 200
    assert client.post("/api/auth/logout", headers=bearer(token)).status_code == 200
    assert status(trusting, token) == 401


def test_a_user_blocked_elsewhere_is_refused_once_the_interval_has_passed(
    trusting: Flask, worker: Callable[..., Flask], clock: FakeClock
) -> None:
    other = worker()
    token = token_of(trusting.test_client())
    assert status(trusting, token) == 200
    with other.app_context():
        db = other.extensions["sqlalchemy"]
        db.session.execute(sa.update(UpUser).values(blocked=True))
        db.session.commit()
    clock.advance(1)
    assert status(trusting, token) == 401


def test_expiry_is_exact_even_inside_the_interval(
    worker: Callable[..., Flask], clock: FakeClock
) -> None:
    app = worker(
        UP_SESSIONS_CHECK_INTERVAL=1, UP_SESSIONS_IDLE_REFRESH_TTL=60, UP_SESSIONS_ACCESS_TTL=120
    )
    token = token_of(app.test_client())
    clock.advance(59.5)
    assert status(app, token) == 200
    clock.advance(0.5)  # the trusted answer is half a second old; the session is over
    assert status(app, token) == 401


def test_a_clock_that_went_back_trusts_nothing(
    trusting: Flask, worker: Callable[..., Flask], clock: FakeClock
) -> None:
    other = worker()
    token = token_of(trusting.test_client())
    assert status(trusting, token) == 200
    revoke_elsewhere(other)
    clock.advance(-5)
    assert status(trusting, token) == 401


def test_the_admin_origin_has_its_own_interval(
    worker: Callable[..., Flask], clock: FakeClock
) -> None:
    app = worker(ADMIN_SESSIONS_CHECK_INTERVAL=0.5)
    state = app.extensions["strapi_sessions"]
    assert state.admin.check.trusted is not None
    assert state.admin.check.trusted.interval == 0.5
    assert state.up.check.trusted is None


@pytest.mark.parametrize("key", ["UP_SESSIONS_CHECK_INTERVAL", "ADMIN_SESSIONS_CHECK_INTERVAL"])
def test_an_interval_over_one_second_is_refused(make_app: Callable[..., Flask], key: str) -> None:
    with pytest.raises(ConfigError, match=f"{key}.*longer than 1 second"):
        make_app(**{key: 1.5})


def test_a_trusted_answer_lasts_exactly_the_interval() -> None:
    clock = FakeClock(100.0)
    cache: TrustCache[str, str] = TrustCache(1.0, clock)
    cache.put("session", "live", read_at=clock())
    clock.advance(0.999)
    assert cache.get("session") == "live"
    clock.advance(0.001)
    assert cache.get("session") is None
    cache.put("session", "live", read_at=clock())
    clock.advance(-0.001)
    assert cache.get("session") is None


# -- several processes: gunicorn workers on real time ---------------------------------

WORKERS = 3
#: covers only the difference between the workers' wall clock and the test's monotonic one
SLACK = 0.2


@dataclass(frozen=True)
class Hit:
    started: float
    status: int
    worker: str


@pytest.fixture(scope="module")
def tables(database: TestDatabase) -> None:
    prepare_tables(database)


def volley(server: Server, jwt: str, pool: ThreadPoolExecutor) -> list[Hit]:
    """``2 * WORKERS`` concurrent requests, so that every worker gets some."""

    def one(_: int) -> Hit:
        started = time.monotonic()
        answer = server.get("/private", bearer(jwt))
        assert answer.status in (200, 401), answer.body
        return Hit(started, answer.status, answer.worker)

    return list(pool.map(one, range(2 * WORKERS)))


@pytest.fixture(params=[0.0, 1.0], ids=["default", "interval-1s"])
def server(
    request: pytest.FixtureRequest,
    tables: None,
    database: TestDatabase,
    tmp_path: Path,
) -> Iterator[Server]:
    env = app_environment(database.url, UP_SESSIONS_CHECK_INTERVAL=str(request.param))
    with running(tmp_path, env, workers=WORKERS, threads=1) as server:
        yield server


def test_every_worker_refuses_a_revoked_session_within_the_interval(server: Server) -> None:
    interval = float(server.env["UP_SESSIONS_CHECK_INTERVAL"])
    name = f"u{uuid.uuid4().hex[:10]}"
    body = {"username": name, "email": f"{name}@example.com", "password": "secret123"}
    assert server.post("/api/auth/local/register", body).status == 200
    jwt = server.post("/api/auth/local", {"identifier": name, "password": "secret123"}).body["jwt"]
    with ThreadPoolExecutor(2 * WORKERS) as pool:
        workers: set[str] = set()
        deadline = time.monotonic() + 30
        while len(workers) < WORKERS:  # every worker has checked the session and trusts it
            assert time.monotonic() < deadline, f"only {workers} answered"
            hits = volley(server, jwt, pool)
            assert {hit.status for hit in hits} == {200}
            workers |= {hit.worker for hit in hits}
        volley(server, jwt, pool)

        assert server.post("/api/auth/logout", {}, bearer(jwt)).status == 200
        bound = time.monotonic() + interval + (SLACK if interval else 0.0)

        late: list[Hit] = []
        deadline = bound + 30
        while {hit.worker for hit in late} != workers:
            assert time.monotonic() < deadline, f"after the bound only {late} answered"
            late += [hit for hit in volley(server, jwt, pool) if hit.started >= bound]
    accepted = [hit for hit in late if hit.status != 401]
    assert not accepted, f"accepted after the bound: {accepted}"
