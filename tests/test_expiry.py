"""Session lifespans: what login sets, and the exact idle and absolute boundaries (SPEC §4)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jwt
import pytest
from flask import Flask

from flask_strapi_sessions.models import ACTIVE, REVOKED
from tests.session_clients import (
    ORIGINS,
    AdminClient,
    ContentClient,
    OriginClient,
    Tokens,
    origin_client,
    session_row,
    session_rows,
)
from tests.support import INVALID_REFRESH, UNAUTHORIZED, FakeClock, error, register, register_admin

# distinct values, so a test can tell which pair a session got
LIFESPANS = {
    "UP_SESSIONS_IDLE_REFRESH_TTL": 1000,
    "UP_SESSIONS_MAX_REFRESH_TTL": 5000,
    "ADMIN_SESSIONS_IDLE_REFRESH_TTL": 2000,
    "ADMIN_SESSIONS_MAX_REFRESH_TTL": 7000,
    "ADMIN_SESSIONS_IDLE_SESSION_TTL": 300,
    "ADMIN_SESSIONS_MAX_SESSION_TTL": 900,
}


@pytest.fixture(params=ORIGINS)
def origin(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def claims(access: str) -> dict[str, Any]:
    return dict(jwt.decode(access, options={"verify_signature": False}))


def rotate(oc: OriginClient, token: str) -> Tokens:
    response = oc.refresh(token)
    assert response.status_code == 200, response.get_json()
    return oc.tokens(response)


def client_with_user(app: Flask, origin: str) -> OriginClient:
    oc = origin_client(app, origin)
    oc.create_user("alice")
    return oc


def assert_lifespans(app: Flask, session_id: str, kind: str, idle: int, maximum: int) -> None:
    row = session_row(app, session_id)
    now = row.created_at
    assert (row.type, row.status, row.generation) == (kind, ACTIVE, 0)
    assert row.last_used_at == now
    assert row.idle_expires_at == now + idle * 1000
    assert row.absolute_expires_at == now + maximum * 1000


# -- what login sets --------------------------------------------------------------------


def test_login_stamps_the_session_with_now(
    make_app: Callable[..., Flask], clock: FakeClock
) -> None:
    app = make_app(**LIFESPANS)
    tokens = client_with_user(app, "users-permissions").login()
    row = session_row(app, tokens.session_id)
    assert row.created_at == row.last_used_at == int(clock() * 1000)


def test_content_api_sessions_always_use_the_refresh_pair(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(**LIFESPANS)
    oc = ContentClient(app)
    oc.create_user("alice")
    assert_lifespans(app, oc.login().session_id, "refresh", 1000, 5000)
    # rememberMe means nothing to the content API
    assert_lifespans(app, oc.login(rememberMe=False).session_id, "refresh", 1000, 5000)
    registered = register(app.test_client(), "bob").get_json()
    assert_lifespans(app, Tokens(registered["jwt"], "").session_id, "refresh", 1000, 5000)


@pytest.mark.parametrize(
    ("body", "kind", "idle", "maximum"),
    [
        ({}, "session", 300, 900),
        ({"rememberMe": False}, "session", 300, 900),
        ({"rememberMe": True}, "refresh", 2000, 7000),
    ],
)
def test_admin_remember_me_picks_the_pair(
    make_app: Callable[..., Flask], body: dict[str, Any], kind: str, idle: int, maximum: int
) -> None:
    app = make_app(**LIFESPANS)
    oc = AdminClient(app)
    oc.create_user("alice")
    assert_lifespans(app, oc.login(**body).session_id, kind, idle, maximum)


def test_register_admin_opens_a_session_without_remember_me(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(**LIFESPANS)
    data = register_admin(app.test_client()).get_json()["data"]
    assert_lifespans(app, Tokens(data["token"], "").session_id, "session", 300, 900)


@pytest.mark.parametrize("value", ["yes", 1, "true", []])
def test_admin_remember_me_must_be_a_boolean(make_app: Callable[..., Flask], value: Any) -> None:
    app = make_app()
    oc = AdminClient(app)
    oc.create_user("alice")
    response = oc.login_response(rememberMe=value)
    assert error(response) == (400, "ValidationError", "rememberMe must be a `boolean` type")
    assert session_rows(app) == []


# -- idle -------------------------------------------------------------------------------


def idle_app(make_app: Callable[..., Flask], origin: str) -> OriginClient:
    """Idle 3600 s, max 1 day, and access tokens that would outlive the idle window."""
    return client_with_user(
        make_app(
            UP_SESSIONS_IDLE_REFRESH_TTL=3600,
            UP_SESSIONS_MAX_REFRESH_TTL=86400,
            ADMIN_SESSIONS_IDLE_SESSION_TTL=3600,
            ADMIN_SESSIONS_MAX_SESSION_TTL=86400,
            ADMIN_SESSIONS_ACCESS_TTL=7200,
        ),
        origin,
    )


def test_idle_expiry_boundary(
    make_app: Callable[..., Flask], origin: str, clock: FakeClock
) -> None:
    oc = idle_app(make_app, origin)
    early, late = oc.login(), oc.login()
    clock.advance(3599.999)
    assert oc.me(late.access).status_code == 200
    early_next = rotate(oc, early.refresh)
    clock.advance(0.001)  # exactly the idle expiry of ``late``
    assert error(oc.refresh(late.refresh)) == INVALID_REFRESH
    # its access token has not reached ``exp`` yet, but dies with the session
    assert claims(late.access)["exp"] > clock()
    assert error(oc.me(late.access)) == UNAUTHORIZED
    # the session refreshed a millisecond earlier slid its idle window
    assert oc.me(early_next.access).status_code == 200
    clock.advance(3599.998)
    assert rotate(oc, early_next.refresh).session_id == early.session_id


def test_an_idle_expired_session_is_not_listed(
    make_app: Callable[..., Flask], origin: str, clock: FakeClock
) -> None:
    oc = idle_app(make_app, origin)
    stale, fresh = oc.login(), oc.login()
    clock.advance(1800)
    fresh = rotate(oc, fresh.refresh)
    clock.advance(1800)
    listed = oc.sessions(fresh.access).get_json()["data"]
    assert [item["id"] for item in listed] == [fresh.session_id]
    assert error(oc.refresh(stale.refresh)) == INVALID_REFRESH


# -- absolute ---------------------------------------------------------------------------


def test_absolute_expiry_ends_a_chain_that_keeps_refreshing(
    make_app: Callable[..., Flask], origin: str, clock: FakeClock
) -> None:
    app = make_app(
        UP_SESSIONS_IDLE_REFRESH_TTL=100,
        UP_SESSIONS_MAX_REFRESH_TTL=300,
        ADMIN_SESSIONS_IDLE_REFRESH_TTL=100,
        ADMIN_SESSIONS_MAX_REFRESH_TTL=300,
        ADMIN_SESSIONS_ACCESS_TTL=100,
    )
    oc = client_with_user(app, origin)
    start_ms = int(clock() * 1000)
    current = oc.login(rememberMe=True)
    for _ in range(3):
        clock.advance(90)
        current = rotate(oc, current.refresh)
    clock.advance(29.999)  # 299.999 s after login
    current = rotate(oc, current.refresh)
    row = session_row(app, current.session_id)
    assert row.idle_expires_at == row.absolute_expires_at == start_ms + 300_000
    assert oc.me(current.access).status_code == 200

    clock.advance(0.001)  # exactly the absolute expiry; idle alone would allow 100 s more
    assert error(oc.refresh(current.refresh)) == INVALID_REFRESH
    assert error(oc.me(current.access)) == UNAUTHORIZED


def test_access_token_expiry_is_capped_at_the_absolute_expiry(
    make_app: Callable[..., Flask], origin: str, clock: FakeClock
) -> None:
    app = make_app(
        UP_SESSIONS_IDLE_REFRESH_TTL=500,
        UP_SESSIONS_MAX_REFRESH_TTL=1000,
        ADMIN_SESSIONS_IDLE_SESSION_TTL=500,
        ADMIN_SESSIONS_MAX_SESSION_TTL=1000,
        ADMIN_SESSIONS_ACCESS_TTL=1800,
    )
    oc = client_with_user(app, origin)
    start = int(clock())
    first = oc.login()
    assert (claims(first.access)["iat"], claims(first.access)["exp"]) == (start, start + 1000)
    clock.advance(400)
    later = rotate(oc, first.refresh)
    assert (claims(later.access)["iat"], claims(later.access)["exp"]) == (start + 400, start + 1000)


def test_access_token_lives_its_ttl_when_the_session_outlives_it(
    make_app: Callable[..., Flask], origin: str
) -> None:
    oc = client_with_user(make_app(), origin)
    issued = claims(oc.login().access)
    assert issued["exp"] - issued["iat"] == (604800 if origin == "users-permissions" else 1800)


# -- the user behind the session --------------------------------------------------------


def test_blocked_user_loses_access_and_refresh(
    make_app: Callable[..., Flask], origin: str, clock: FakeClock
) -> None:
    oc = client_with_user(make_app(), origin)
    bob_id = oc.create_user("bob")
    alice = oc.login()
    bob = oc.login("bob")
    user_id = session_row(oc.app, alice.session_id).user_id
    oc.update_user(user_id, blocked=True)

    assert error(oc.me(alice.access)) == UNAUTHORIZED
    assert error(oc.refresh(alice.refresh)) == INVALID_REFRESH
    row = session_row(oc.app, alice.session_id)
    assert row.status == REVOKED
    # unblocking does not bring the session back
    oc.update_user(user_id, blocked=False)
    assert error(oc.me(alice.access)) == UNAUTHORIZED
    assert error(oc.refresh(alice.refresh)) == INVALID_REFRESH
    # another user is not affected
    assert session_row(oc.app, bob.session_id).user_id == bob_id
    assert oc.me(bob.access).status_code == 200
    assert rotate(oc, bob.refresh).session_id == bob.session_id


def test_deactivated_admin_loses_access_and_refresh(make_app: Callable[..., Flask]) -> None:
    oc = client_with_user(make_app(), "admin")
    tokens = oc.login()
    oc.update_user(session_row(oc.app, tokens.session_id).user_id, is_active=False)
    assert error(oc.me(tokens.access)) == UNAUTHORIZED
    assert error(oc.refresh(tokens.refresh)) == INVALID_REFRESH
    assert session_row(oc.app, tokens.session_id).status == REVOKED


def test_deleted_user_loses_access_and_refresh(make_app: Callable[..., Flask], origin: str) -> None:
    oc = client_with_user(make_app(), origin)
    tokens = oc.login()
    oc.delete_user(session_row(oc.app, tokens.session_id).user_id)
    assert error(oc.me(tokens.access)) == UNAUTHORIZED
    assert error(oc.refresh(tokens.refresh)) == INVALID_REFRESH
    assert session_row(oc.app, tokens.session_id).status == REVOKED
