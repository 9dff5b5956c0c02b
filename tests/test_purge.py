"""Purging expired and long-revoked session rows, in bounded batches (SPEC §4)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask

from flask_strapi_sessions import StrapiSessions, sessions
from flask_strapi_sessions.config import ADMIN, USERS_PERMISSIONS
from flask_strapi_sessions.store import LOGOUT, REVOKED_RETENTION_MS
from tests.session_clients import ContentClient, session_rows
from tests.support import FakeClock

DAY = 86400
SHORT = {
    "UP_SESSIONS_IDLE_REFRESH_TTL": 100,
    "UP_SESSIONS_MAX_REFRESH_TTL": 250,
    "ADMIN_SESSIONS_IDLE_REFRESH_TTL": 100,
    "ADMIN_SESSIONS_MAX_REFRESH_TTL": 250,
}


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app(**SHORT)


def open_sessions(app: Flask, count: int, origin: str = USERS_PERMISSIONS) -> list[str]:
    """Open ``count`` sessions straight through the store; returns their ids."""
    with app.app_context():
        state = StrapiSessions.state()
        store = state.origin(origin).sessions
        return [
            store.create(state.session, user_id="7", device_id=f"device-{i}").session.session_id
            for i in range(count)
        ]


def use_session(app: Flask, session_id: str) -> None:
    """Give a session a new refresh token through the store: its idle expiry slides."""
    with app.app_context():
        state = StrapiSessions.state()
        store = state.up.sessions
        store.reissue(state.session, session_id)


def purge(app: Flask, origin: str = USERS_PERMISSIONS, **limits: int) -> int:
    with app.app_context():
        state = StrapiSessions.state()
        return state.origin(origin).sessions.purge(state.session, **limits)


def ids(app: Flask, origin: str | None = None) -> set[str]:
    return {row.session_id for row in session_rows(app, origin)}


def test_idle_expired_rows_go_and_live_rows_stay(app: Flask, clock: FakeClock) -> None:
    _left_idle, kept = open_sessions(app, 2)
    clock.advance(60)
    use_session(app, kept)  # its idle expiry is now 160 s after the start
    clock.advance(39.999)
    assert purge(app) == 0
    clock.advance(0.001)  # exactly the idle expiry of the session left alone
    assert purge(app) == 1
    assert ids(app) == {kept}


def test_absolute_expired_rows_go_even_when_recently_used(app: Flask, clock: FakeClock) -> None:
    (chain,) = open_sessions(app, 1)
    for step in (90, 90, 60):  # idle keeps sliding up to the absolute expiry at 250 s
        clock.advance(step)
        use_session(app, chain)
    (young,) = open_sessions(app, 1)
    clock.advance(9.999)
    assert purge(app) == 0
    clock.advance(0.001)
    assert purge(app) == 1
    assert ids(app) == {young}


def test_revoked_rows_are_kept_a_week_then_purged(
    make_app: Callable[..., Flask], clock: FakeClock
) -> None:
    app = make_app(UP_SESSIONS_IDLE_REFRESH_TTL=20 * DAY, UP_SESSIONS_MAX_REFRESH_TTL=30 * DAY)
    revoked, live = open_sessions(app, 2)
    clock.advance(DAY)
    with app.app_context():
        StrapiSessions.state().up.sessions.revoke(StrapiSessions.state().session, [revoked], LOGOUT)
    assert REVOKED_RETENTION_MS == 7 * DAY * 1000
    clock.advance(7 * DAY - 0.001)
    assert purge(app) == 0  # still there for auditing
    clock.advance(0.001)
    assert purge(app) == 1
    assert ids(app) == {live}


def test_purge_works_in_bounded_batches(app: Flask, clock: FakeClock) -> None:
    expired = set(open_sessions(app, 25))
    clock.advance(200)
    live = set(open_sessions(app, 3))

    assert purge(app, batch_size=10, max_batches=1) == 10
    assert len(ids(app) & expired) == 15
    assert purge(app, batch_size=4, max_batches=2) == 8
    assert len(ids(app) & expired) == 7
    assert purge(app, batch_size=4) == 7  # no batch limit: until nothing is left
    assert ids(app) == live
    assert purge(app, batch_size=4) == 0


def test_purge_of_one_origin_leaves_the_other_origins_rows(app: Flask, clock: FakeClock) -> None:
    open_sessions(app, 2, USERS_PERMISSIONS)
    admin_rows = set(open_sessions(app, 3, ADMIN))
    clock.advance(300)
    assert purge(app, USERS_PERMISSIONS) == 2
    assert ids(app) == admin_rows
    with app.app_context():
        assert StrapiSessions.purge_expired(batch_size=2, max_batches=1) == 2
        assert StrapiSessions.purge_expired() == 1
    assert ids(app) == set()


def test_every_50th_login_purges_one_batch(
    app: Flask, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sessions, "PURGE_BATCH", 5)
    expired = set(open_sessions(app, 8))
    clock.advance(200)
    oc = ContentClient(app)
    oc.create_user("alice")
    for _ in range(49):
        oc.login()
    assert ids(app) >= expired  # 49 logins: nothing purged yet
    oc.login()
    assert len(ids(app) & expired) == 3  # the 50th purged one batch of 5
    assert len(ids(app) - expired) == 50  # and never a live session


def test_cli_purge_command(app: Flask, clock: FakeClock) -> None:
    open_sessions(app, 5)
    open_sessions(app, 2, ADMIN)
    clock.advance(200)
    (live,) = open_sessions(app, 1)
    result = app.test_cli_runner().invoke(args=["strapi", "purge", "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Purged 7 session row(s)."
    assert ids(app) == {live}
