"""Blinker signals: each fires with the app as sender and the documented arguments."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import jwt
from blinker import Signal
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from flask_strapi_sessions import StrapiSessions, UpUser, signals
from tests.support import (
    FakeClock,
    admin_login,
    bearer,
    login,
    register,
    register_admin,
)

UP = "users-permissions"


@contextmanager
def recording(app: Flask, signal: Signal) -> Iterator[list[dict[str, Any]]]:
    """Collect every send of ``signal`` by ``app`` as its keyword arguments."""
    received: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        assert sender is app
        received.append(kwargs)

    with signal.connected_to(receiver, sender=app):
        yield received


def claims(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return decoded


# -- user_logged_in -----------------------------------------------------------------------------


def test_user_logged_in_on_register_and_login(app: Flask, client: FlaskClient) -> None:
    with recording(app, signals.user_logged_in) as sent:
        first = register(client).get_json()
        second = login(client, body={"deviceId": "phone-1"}).get_json()
    user_id = str(first["user"]["id"])
    assert sent == [
        {
            "origin": UP,
            "user_id": user_id,
            "session_id": claims(first["jwt"])["sessionId"],
            "device_id": sent[0]["device_id"],  # generated: checked below
        },
        {
            "origin": UP,
            "user_id": user_id,
            "session_id": claims(second["jwt"])["sessionId"],
            "device_id": "phone-1",
        },
    ]
    listing = client.get("/api/auth/sessions", headers=bearer(first["jwt"])).get_json()["data"]
    assert sent[0]["device_id"] == next(s["deviceId"] for s in listing if s["current"])


def test_user_logged_in_on_admin_login(app: Flask, client: FlaskClient) -> None:
    register_admin(client)
    with recording(app, signals.user_logged_in) as sent:
        data = admin_login(client, deviceId="laptop").get_json()["data"]
    assert sent == [
        {
            "origin": "admin",
            "user_id": str(data["user"]["id"]),
            "session_id": claims(data["token"])["sessionId"],
            "device_id": "laptop",
        }
    ]


def test_user_logged_in_not_sent_in_legacy_mode(make_app: Callable[..., Flask]) -> None:
    app = make_app(UP_JWT_MANAGEMENT="legacy-support")
    with recording(app, signals.user_logged_in) as sent:
        assert register(app.test_client()).status_code == 200
    assert sent == []  # no session was opened


# -- login_failed ---------------------------------------------------------------------------------


def test_login_failed(app: Flask, client: FlaskClient) -> None:
    register(client)
    register_admin(client)
    with (
        recording(app, signals.login_failed) as failed,
        recording(app, signals.user_logged_in) as logged_in,
    ):
        login(client, "alice", "wrong-password")
        login(client, "nobody@example.com", "secret123")
        admin_login(client, password="Wrong1234")
        login(client, "alice", "secret123")  # a success sends nothing here
    assert failed == [
        {"origin": UP, "identifier": "alice"},
        {"origin": UP, "identifier": "nobody@example.com"},
        {"origin": "admin", "identifier": "ada@example.com"},
    ]
    assert len(logged_in) == 1


# -- session_refreshed ------------------------------------------------------------------------


def test_session_refreshed_and_grace(app: Flask, client: FlaskClient) -> None:
    first = register(client).get_json()
    session_id = claims(first["jwt"])["sessionId"]
    with recording(app, signals.session_refreshed) as sent:
        rotated = client.post("/api/auth/refresh", json={"refreshToken": first["refreshToken"]})
        again = client.post("/api/auth/refresh", json={"refreshToken": first["refreshToken"]})
    assert rotated.status_code == again.status_code == 200
    assert sent == [
        {
            "origin": UP,
            "user_id": str(first["user"]["id"]),
            "session_id": session_id,
            "grace": False,
        },
        {
            "origin": UP,
            "user_id": str(first["user"]["id"]),
            "session_id": session_id,
            "grace": True,
        },
    ]


def test_session_refreshed_on_admin_access_token(app: Flask, client: FlaskClient) -> None:
    register_admin(client)
    data = admin_login(client, rememberMe=True).get_json()["data"]
    with recording(app, signals.session_refreshed) as sent:
        assert client.post("/admin/access-token", json={}).status_code == 200
    assert sent == [
        {
            "origin": "admin",
            "user_id": str(data["user"]["id"]),
            "session_id": claims(data["token"])["sessionId"],
            "grace": False,
        }
    ]


def test_refused_refresh_sends_no_session_refreshed(app: Flask, client: FlaskClient) -> None:
    register(client)
    with recording(app, signals.session_refreshed) as sent:
        assert client.post("/api/auth/refresh", json={"refreshToken": "nope"}).status_code == 401
    assert sent == []


# -- user_logged_out, session_revoked ---------------------------------------------------------


def test_logout_sends_logged_out_and_revoked(app: Flask, client: FlaskClient) -> None:
    first = register(client).get_json()
    session_id = claims(first["jwt"])["sessionId"]
    user_id = str(first["user"]["id"])
    with (
        recording(app, signals.user_logged_out) as logged_out,
        recording(app, signals.session_revoked) as revoked,
    ):
        client.post("/api/auth/logout", json={}, headers=bearer(first["jwt"]))
    assert logged_out == [{"origin": UP, "user_id": user_id, "session_ids": [session_id]}]
    assert revoked == [
        {"origin": UP, "user_id": user_id, "session_ids": [session_id], "reason": "logout"}
    ]


def test_logout_everywhere_lists_every_session(app: Flask, client: FlaskClient) -> None:
    first = register(client).get_json()
    second = login(client).get_json()
    expected = sorted(claims(a["jwt"])["sessionId"] for a in (first, second))
    with recording(app, signals.user_logged_out) as sent:
        client.post("/api/auth/logout", json={"scope": "all"}, headers=bearer(second["jwt"]))
    [event] = sent
    assert (event["origin"], event["user_id"]) == (UP, str(first["user"]["id"]))
    assert sorted(event["session_ids"]) == expected


def test_admin_logout(app: Flask, client: FlaskClient) -> None:
    register_admin(client)
    data = admin_login(client).get_json()["data"]
    with (
        recording(app, signals.user_logged_out) as logged_out,
        recording(app, signals.session_revoked) as revoked,
    ):
        client.post("/admin/logout", json={}, headers=bearer(data["token"]))
    session_id = claims(data["token"])["sessionId"]
    user_id = str(data["user"]["id"])
    assert logged_out == [{"origin": "admin", "user_id": user_id, "session_ids": [session_id]}]
    assert revoked[0]["reason"] == "logout"


def test_password_change_revokes_the_other_sessions(app: Flask, client: FlaskClient) -> None:
    first = register(client).get_json()
    other = login(client).get_json()
    body = {
        "currentPassword": "secret123",
        "password": "newpass12",
        "passwordConfirmation": "newpass12",
    }
    with recording(app, signals.session_revoked) as sent:
        client.post("/api/auth/change-password", json=body, headers=bearer(first["jwt"]))
    assert sent == [
        {
            "origin": UP,
            "user_id": str(first["user"]["id"]),
            "session_ids": [claims(other["jwt"])["sessionId"]],
            "reason": "password-change",
        }
    ]


def test_operator_revocation(app: Flask, client: FlaskClient) -> None:
    first = register(client).get_json()
    session_id = claims(first["jwt"])["sessionId"]
    with recording(app, signals.session_revoked) as sent, app.app_context():
        StrapiSessions.revoke_all(first["user"]["id"])
    assert sent == [
        {
            "origin": UP,
            "user_id": str(first["user"]["id"]),
            "session_ids": [session_id],
            "reason": "operator",
        }
    ]


def test_user_deleted_own_session(app: Flask, client: FlaskClient) -> None:
    first = register(client).get_json()
    other = login(client).get_json()
    other_id = claims(other["jwt"])["sessionId"]
    with recording(app, signals.session_revoked) as sent:
        client.delete(f"/api/auth/sessions/{other_id}", headers=bearer(first["jwt"]))
    assert sent == [
        {
            "origin": UP,
            "user_id": str(first["user"]["id"]),
            "session_ids": [other_id],
            "reason": "revoked-by-user",
        }
    ]


def test_blocked_user_refresh_revokes(app: Flask, client: FlaskClient) -> None:
    first = register(client).get_json()
    with app.app_context():
        db = app.extensions["sqlalchemy"]
        db.session.execute(update(UpUser).values(blocked=True))
        db.session.commit()
    with recording(app, signals.session_revoked) as sent:
        refused = client.post("/api/auth/refresh", json={"refreshToken": first["refreshToken"]})
    assert refused.status_code == 401
    assert sent == [
        {
            "origin": UP,
            "user_id": str(first["user"]["id"]),
            "session_ids": [claims(first["jwt"])["sessionId"]],
            "reason": "user-blocked",
        }
    ]


def test_nothing_revoked_sends_nothing(app: Flask, client: FlaskClient) -> None:
    register(client)
    with recording(app, signals.session_revoked) as sent, app.app_context():
        assert StrapiSessions.revoke_session("0" * 32) is False
    assert sent == []


# -- refresh_token_reused ---------------------------------------------------------------------


def test_refresh_token_reused(app: Flask, client: FlaskClient, clock: FakeClock) -> None:
    first = register(client).get_json()
    session_id = claims(first["jwt"])["sessionId"]
    user_id = str(first["user"]["id"])
    client.post("/api/auth/refresh", json={"refreshToken": first["refreshToken"]})
    clock.advance(11)  # past the 10 s grace window
    with (
        recording(app, signals.refresh_token_reused) as reused,
        recording(app, signals.session_revoked) as revoked,
        recording(app, signals.session_refreshed) as refreshed,
    ):
        replay = client.post("/api/auth/refresh", json={"refreshToken": first["refreshToken"]})
    assert replay.status_code == 401
    assert reused == [{"origin": UP, "user_id": user_id, "session_id": session_id}]
    assert revoked == [
        {"origin": UP, "user_id": user_id, "session_ids": [session_id], "reason": "reuse-detected"}
    ]
    assert refreshed == []


def test_signals_are_per_app(make_app: Callable[..., Flask]) -> None:
    """A receiver bound to one app hears nothing from another app in the same process."""
    one, two = make_app(), make_app()
    with recording(one, signals.user_logged_in) as sent:
        register(two.test_client())
    assert sent == []
