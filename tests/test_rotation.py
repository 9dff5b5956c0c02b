"""Refresh-token rotation, the grace window and reuse detection, on both origins (SPEC §4)."""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from flask_strapi_sessions import signals, tokens
from flask_strapi_sessions.config import ADMIN, USERS_PERMISSIONS
from flask_strapi_sessions.models import ACTIVE, REVOKED
from flask_strapi_sessions.store import REUSE
from tests.session_clients import (
    ORIGINS,
    OriginClient,
    Tokens,
    origin_client,
    session_row,
    session_rows,
)
from tests.support import ADMIN_SECRET, INVALID_REFRESH, UNAUTHORIZED, UP_SECRET, FakeClock, error


@pytest.fixture(params=ORIGINS)
def origin(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_client(make_app: Callable[..., Flask], origin: str) -> Callable[..., OriginClient]:
    """``make_client(**config)``: an app with that config and a user ``alice`` on ``origin``."""

    def factory(**config: Any) -> OriginClient:
        client = origin_client(make_app(**config), origin)
        client.create_user("alice")
        return client

    return factory


@pytest.fixture
def oc(make_client: Callable[..., OriginClient]) -> OriginClient:
    return make_client()


def rotate(oc: OriginClient, token: str) -> Tokens:
    response = oc.refresh(token)
    assert response.status_code == 200, response.get_json()
    return oc.tokens(response)


def assert_session_dead(oc: OriginClient, live: Tokens) -> None:
    """Both the newest refresh token and its access token of a session are refused."""
    assert error(oc.me(live.access)) == UNAUTHORIZED
    assert error(oc.refresh(live.refresh)) == INVALID_REFRESH


def assert_session_alive(oc: OriginClient, live: Tokens) -> Tokens:
    assert oc.me(live.access).status_code == 200
    return rotate(oc, live.refresh)


# -- rotation ---------------------------------------------------------------------------


def test_each_refresh_issues_a_new_token_and_retires_the_old_one(
    oc: OriginClient, clock: FakeClock
) -> None:
    first = oc.login()
    second = rotate(oc, first.refresh)
    third = rotate(oc, second.refresh)
    assert len({first.refresh, second.refresh, third.refresh}) == 3
    assert first.session_id == second.session_id == third.session_id
    assert oc.me(third.access).status_code == 200

    clock.advance(11)  # outside the 10 s grace window
    assert error(oc.refresh(second.refresh)) == INVALID_REFRESH


def test_refresh_tokens_are_opaque_and_stored_only_as_a_hash(oc: OriginClient) -> None:
    issued = oc.login()
    assert issued.refresh.count(".") == 3  # never a JWT (three segments)
    row = session_row(oc.app, issued.session_id)
    assert row.token_hash == tokens.hash_refresh_token(issued.refresh)
    assert issued.refresh not in {row.token_hash, row.previous_token_hash, row.successor_sealed}


def test_idle_expiry_slides_but_never_past_absolute(
    make_client: Callable[..., OriginClient], clock: FakeClock
) -> None:
    lifespans = {
        "UP_SESSIONS_IDLE_REFRESH_TTL": 100,
        "UP_SESSIONS_MAX_REFRESH_TTL": 250,
        "ADMIN_SESSIONS_IDLE_SESSION_TTL": 100,
        "ADMIN_SESSIONS_MAX_SESSION_TTL": 250,
    }
    oc = make_client(**lifespans)
    start_ms = int(clock() * 1000)
    current = oc.login()
    row = session_row(oc.app, current.session_id)
    assert (row.idle_expires_at, row.absolute_expires_at) == (
        start_ms + 100_000,
        start_ms + 250_000,
    )

    expected_idle = [160_000, 220_000, 250_000, 250_000]  # +60 s each time, capped at 250 s
    for step, idle in enumerate(expected_idle, start=1):
        clock.advance(60 if step < 4 else 10)
        current = rotate(oc, current.refresh)
        row = session_row(oc.app, current.session_id)
        assert row.idle_expires_at == start_ms + idle
        assert row.absolute_expires_at == start_ms + 250_000
        assert row.generation == step
        assert row.last_used_at == row.rotated_at == int(clock() * 1000)


def test_a_session_keeps_one_row_however_often_it_refreshes(
    oc: OriginClient, clock: FakeClock
) -> None:
    other = oc.login()
    current = oc.login()
    for _ in range(200):
        clock.advance(1)
        current = rotate(oc, current.refresh)
    assert len(session_rows(oc.app)) == 2
    row = session_row(oc.app, current.session_id)
    assert row.generation == 200
    assert row.token_hash == tokens.hash_refresh_token(current.refresh)
    assert session_row(oc.app, other.session_id).generation == 0


# -- grace ------------------------------------------------------------------------------


def test_previous_token_inside_grace_returns_the_same_successor(
    oc: OriginClient, clock: FakeClock
) -> None:
    first = oc.login()
    second = rotate(oc, first.refresh)
    clock.advance(3)
    again = rotate(oc, first.refresh)
    assert again.refresh == second.refresh
    assert again.access != second.access  # a fresh access token
    assert again.session_id == second.session_id
    assert oc.me(again.access).status_code == 200
    assert rotate(oc, first.refresh).refresh == second.refresh  # and again
    row = session_row(oc.app, second.session_id)
    assert (row.generation, row.status) == (1, ACTIVE)
    assert row.token_hash == tokens.hash_refresh_token(second.refresh)
    # the successor is still the live token
    assert_session_alive(oc, second)


@pytest.mark.parametrize("rotated_at", [0.0, 0.1, 1.1, 2.5])
def test_grace_ends_exactly_after_the_configured_seconds(
    make_client: Callable[..., OriginClient], clock: FakeClock, rotated_at: float
) -> None:
    oc = make_client()
    at_limit, past_limit = oc.login(), oc.login()
    clock.advance(rotated_at)
    at_limit_next = rotate(oc, at_limit.refresh)
    past_limit_next = rotate(oc, past_limit.refresh)

    clock.advance(10)
    assert rotate(oc, at_limit.refresh).refresh == at_limit_next.refresh
    clock.advance(0.001)
    assert error(oc.refresh(past_limit.refresh)) == INVALID_REFRESH
    assert session_row(oc.app, past_limit.session_id).revoked_reason == REUSE
    assert_session_dead(oc, past_limit_next)
    assert_session_alive(oc, at_limit_next)


def test_grace_zero_disables_the_grace_window(
    make_client: Callable[..., OriginClient],
) -> None:
    oc = make_client(UP_SESSIONS_ROTATION_GRACE=0, ADMIN_SESSIONS_ROTATION_GRACE=0)
    first = oc.login()
    second = rotate(oc, first.refresh)
    # same instant, yet no grace: the old token is a reused ancestor
    assert error(oc.refresh(first.refresh)) == INVALID_REFRESH
    assert session_row(oc.app, first.session_id).status == REVOKED
    assert_session_dead(oc, second)


def test_grace_is_configured_per_origin(
    make_app: Callable[..., Flask], origin: str, clock: FakeClock
) -> None:
    other = ADMIN if origin == USERS_PERMISSIONS else USERS_PERMISSIONS
    key = {ADMIN: "ADMIN_SESSIONS_ROTATION_GRACE", USERS_PERMISSIONS: "UP_SESSIONS_ROTATION_GRACE"}
    app = make_app(**{key[origin]: 30, key[other]: 0})
    own, foreign = origin_client(app, origin), origin_client(app, other)
    own.create_user()
    foreign.create_user()
    mine, theirs = own.login(), foreign.login()
    mine_next = rotate(own, mine.refresh)
    rotate(foreign, theirs.refresh)
    assert error(foreign.refresh(theirs.refresh)) == INVALID_REFRESH
    clock.advance(30)
    assert rotate(own, mine.refresh).refresh == mine_next.refresh


def test_an_older_ancestor_is_reuse_even_inside_grace(oc: OriginClient) -> None:
    first = oc.login()
    second = rotate(oc, first.refresh)
    third = rotate(oc, second.refresh)
    assert error(oc.refresh(first.refresh)) == INVALID_REFRESH
    assert session_row(oc.app, first.session_id).revoked_reason == REUSE
    assert_session_dead(oc, third)
    # the token of the grace window no longer works either: the session is gone
    assert error(oc.refresh(second.refresh)) == INVALID_REFRESH


# -- reuse detection --------------------------------------------------------------------


def test_reuse_outside_grace_revokes_the_whole_session(oc: OriginClient, clock: FakeClock) -> None:
    other = oc.login()
    first = oc.login()
    second = rotate(oc, first.refresh)
    clock.advance(10.001)
    reused: list[dict[str, Any]] = []

    def record(_sender: Any, **kwargs: Any) -> None:
        reused.append(kwargs)

    with signals.refresh_token_reused.connected_to(record):
        assert error(oc.refresh(first.refresh)) == INVALID_REFRESH
    assert reused == [
        {
            "origin": oc.name,
            "user_id": session_row(oc.app, first.session_id).user_id,
            "session_id": first.session_id,
        }
    ]
    row = session_row(oc.app, first.session_id)
    assert (row.status, row.revoked_reason) == (REVOKED, REUSE)
    assert_session_dead(oc, second)
    # only that session: the user's other login is untouched
    assert_session_alive(oc, other)


def _forgeries(oc: OriginClient, live: Tokens, stranger: Tokens) -> list[str]:
    """Tokens that were never issued for ``live``'s session."""
    secret = UP_SECRET if oc.name == USERS_PERMISSIONS else ADMIN_SECRET
    other_secret = ADMIN_SECRET if secret == UP_SECRET else UP_SECRET
    session_id, generation, random_part, mac = live.refresh.split(".")
    # base64 spare bits: these last characters decode to the same MAC bytes
    alphabet = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
    base = alphabet.index(mac[-1]) & ~3
    same_bits = [alphabet[base + k] for k in range(4) if alphabet[base + k] != mac[-1]]
    flipped = alphabet[(alphabet.index(mac[-1]) + 4) % 64]
    return [
        secrets.token_urlsafe(48),
        "",
        f"{session_id}.{generation}.{random_part}.{mac[:-1]}{flipped}",  # wrong MAC
        f"{session_id}.{generation}.{secrets.token_urlsafe(32)}.{mac}",  # body changed
        f"{session_id}.0.{random_part}.{mac}",  # generation changed
        f"{stranger.session_id}.{generation}.{random_part}.{mac}",  # another session id
        tokens.new_refresh_token(other_secret, session_id, 0),  # the other origin's key
        tokens.new_refresh_token(secret, secrets.token_hex(16), 0),  # no such session
        live.access,  # an access token is never a refresh token
        "x" * 600,
        *(f"{session_id}.{generation}.{random_part}.{mac[:-1]}{c}" for c in same_bits),
    ]


def test_forged_tokens_are_refused_and_revoke_nothing(oc: OriginClient, clock: FakeClock) -> None:
    oc.create_user("bob")
    first = oc.login()
    live = rotate(oc, first.refresh)
    live = rotate(oc, live.refresh)  # generation 2: "0" above is an older generation
    stranger = oc.login("bob")
    clock.advance(30)
    for forged in _forgeries(oc, live, stranger):
        response = oc.refresh(forged)
        if forged == "" and oc.name == USERS_PERMISSIONS:
            assert error(response) == (400, "BadRequestError", "Missing refresh token")
        elif forged == "" and oc.name == ADMIN:
            assert error(response) == (401, "UnauthorizedError", "Missing refresh token")
        else:
            assert error(response) == INVALID_REFRESH, forged
    for tokens_ in (live, stranger):
        row = session_row(oc.app, tokens_.session_id)
        assert (row.status, row.revoked_at) == (ACTIVE, None)
    assert_session_alive(oc, live)
    assert_session_alive(oc, stranger)
