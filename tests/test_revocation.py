"""Device ids, logout, password changes, session deletion and operator revocation (SPEC §4)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask import Flask

from flask_strapi_sessions import StrapiSessions, signals
from flask_strapi_sessions.config import ADMIN, USERS_PERMISSIONS
from flask_strapi_sessions.models import ACTIVE, REVOKED
from flask_strapi_sessions.store import LOGOUT, OPERATOR, PASSWORD_CHANGE, REVOKED_BY_USER
from tests.session_clients import (
    ORIGINS,
    PASSWORD,
    AdminClient,
    ContentClient,
    OriginClient,
    Tokens,
    cookie_value,
    origin_client,
    session_row,
    session_rows,
)
from tests.support import INVALID_REFRESH, UNAUTHORIZED, bearer, error, register

BAD_DEVICE_ID = "deviceId must be 1-128 letters, digits, '-', '_', '.' or ':'"
SHARED_USER_ID = 900_001  # above any id a sequence hands out during a test run


@pytest.fixture(params=ORIGINS)
def origin(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def oc(app: Flask, origin: str) -> OriginClient:
    client = origin_client(app, origin)
    client.create_user("alice")
    return client


def rotate(oc: OriginClient, token: str) -> Tokens:
    response = oc.refresh(token)
    assert response.status_code == 200, response.get_json()
    return oc.tokens(response)


def assert_dead(oc: OriginClient, tokens: Tokens) -> None:
    assert error(oc.me(tokens.access)) == UNAUTHORIZED
    assert error(oc.refresh(tokens.refresh)) == INVALID_REFRESH


def assert_alive(oc: OriginClient, tokens: Tokens) -> Tokens:
    """The session answers; returns its rotated tokens (use them from then on)."""
    assert oc.me(tokens.access).status_code == 200
    return rotate(oc, tokens.refresh)


def logout_ok(oc: OriginClient, access: str, **body: Any) -> None:
    response = oc.logout(access, **body)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == ({"ok": True} if oc.name == USERS_PERMISSIONS else {"data": {}})


# -- deviceId ---------------------------------------------------------------------------


def test_device_id_from_the_body_is_stored_and_returned(oc: OriginClient) -> None:
    response = oc.login_response(deviceId="laptop-01")
    tokens = oc.tokens(response)
    assert session_row(oc.app, tokens.session_id).device_id == "laptop-01"
    if oc.name == ADMIN:
        assert response.get_json()["data"]["deviceId"] == "laptop-01"
    listed = oc.sessions(tokens.access).get_json()["data"]
    assert [(item["id"], item["deviceId"]) for item in listed] == [(tokens.session_id, "laptop-01")]


def test_device_id_is_generated_when_absent(oc: OriginClient) -> None:
    first_response = oc.login_response()
    first, second = oc.tokens(first_response), oc.login(deviceId="")
    first_device = session_row(oc.app, first.session_id).device_id
    second_device = session_row(oc.app, second.session_id).device_id
    assert str(uuid.UUID(first_device)) == first_device
    assert first_device != second_device
    if oc.name == ADMIN:
        assert first_response.get_json()["data"]["deviceId"] == first_device
    listed = {item["id"]: item["deviceId"] for item in oc.sessions(first.access).get_json()["data"]}
    assert listed == {first.session_id: first_device, second.session_id: second_device}


def test_device_id_accepts_the_whole_charset_and_128_characters(oc: OriginClient) -> None:
    for device_id in ("Az09_.:-", "d" * 128):
        tokens = oc.login(deviceId=device_id)
        assert session_row(oc.app, tokens.session_id).device_id == device_id


@pytest.mark.parametrize(
    "device_id",
    ["d" * 129, "two words", "a/b", "caf\u00e9", "semi;colon", 12, 1.5, True, ["a"], {"a": 1}],
)
def test_bad_device_id_is_refused_and_writes_no_session(oc: OriginClient, device_id: Any) -> None:
    response = oc.login_response(deviceId=device_id)
    assert error(response) == (400, "ValidationError", BAD_DEVICE_ID)
    assert response.get_json()["error"]["details"]["errors"][0]["path"] == ["deviceId"]
    assert session_rows(oc.app) == []


def test_bad_device_id_on_register_writes_neither_user_nor_session(app: Flask) -> None:
    response = register(app.test_client(), "carol", "secret123")
    assert response.status_code == 200
    before = len(session_rows(app))
    body = {"username": "dave", "email": "dave@example.com", "password": "secret123"}
    refused = app.test_client().post(
        "/api/auth/local/register", json={**body, "deviceId": "no spaces please"}
    )
    assert error(refused) == (400, "ValidationError", BAD_DEVICE_ID)
    assert len(session_rows(app)) == before
    assert error(ContentClient(app).login_response("dave"))[0] == 400  # no such user


# -- logout -----------------------------------------------------------------------------


def test_logout_ends_only_the_current_session(oc: OriginClient) -> None:
    leaving, staying = oc.login(), oc.login()
    logout_ok(oc, leaving.access)
    assert_dead(oc, leaving)
    row = session_row(oc.app, leaving.session_id)
    assert (row.status, row.revoked_reason) == (REVOKED, LOGOUT)
    assert_alive(oc, staying)


def test_logout_of_a_device_ends_that_devices_sessions_only(oc: OriginClient) -> None:
    oc.create_user("bob")
    tablet_1, tablet_2 = oc.login(deviceId="tablet"), oc.login(deviceId="tablet")
    phone = oc.login(deviceId="phone")
    bobs_tablet = oc.login("bob", deviceId="tablet")
    logout_ok(oc, phone.access, deviceId="tablet")
    assert_dead(oc, tablet_1)
    assert_dead(oc, tablet_2)
    assert_alive(oc, phone)
    assert_alive(oc, bobs_tablet)


def test_logout_scope_all_stays_within_the_user_and_the_origin(app: Flask, origin: str) -> None:
    own = origin_client(app, origin)
    other = origin_client(app, ADMIN if origin == USERS_PERMISSIONS else USERS_PERMISSIONS)
    # the same user id in both origins, as Strapi's admin user 1 and content user 1
    assert own.create_user("alice", user_id=SHARED_USER_ID) == str(SHARED_USER_ID)
    assert other.create_user("alice", user_id=SHARED_USER_ID) == str(SHARED_USER_ID)
    own.create_user("bob")
    mine = [own.login(deviceId="a"), own.login(deviceId="b"), own.login()]
    same_id_other_origin = other.login()
    bobs = own.login("bob")

    logout_ok(own, mine[1].access, scope="all")
    for tokens in mine:
        assert_dead(own, tokens)
    assert_alive(other, same_id_other_origin)
    assert_alive(own, bobs)


def test_logout_with_an_access_token_from_before_a_rotation_ends_the_session(
    oc: OriginClient,
) -> None:
    first = oc.login()
    second = rotate(oc, first.refresh)
    third = rotate(oc, second.refresh)
    logout_ok(oc, first.access)
    assert_dead(oc, third)


def test_content_logout_with_only_the_refresh_cookie(app: Flask) -> None:
    oc = ContentClient(app)
    oc.create_user("alice")
    leaving, staying = oc.login(), oc.login()
    response = oc.http.post(
        "/api/auth/logout", json={}, headers={"Cookie": f"strapi_up_refresh={leaving.refresh}"}
    )
    assert response.status_code == 200 and response.get_json() == {"ok": True}
    assert cookie_value(response, "strapi_up_refresh") == ""  # cleared
    assert_dead(oc, leaving)
    assert session_row(app, leaving.session_id).revoked_reason == LOGOUT
    assert_alive(oc, staying)


@pytest.mark.parametrize("cookie", [None, "not-a-token"])
def test_content_logout_without_bearer_or_valid_cookie_is_401(
    app: Flask, cookie: str | None
) -> None:
    oc = ContentClient(app)
    oc.create_user("alice")
    tokens = oc.login()
    headers = {"Cookie": f"strapi_up_refresh={cookie}"} if cookie else {}
    response = oc.http.post("/api/auth/logout", json={}, headers=headers)
    assert error(response) == UNAUTHORIZED
    assert_alive(oc, tokens)


def test_logout_signals_name_the_revoked_sessions(oc: OriginClient) -> None:
    first, second = oc.login(deviceId="x"), oc.login(deviceId="x")
    revoked: list[dict[str, Any]] = []
    logged_out: list[dict[str, Any]] = []

    def on_revoked(_sender: Any, **kwargs: Any) -> None:
        revoked.append(kwargs)

    def on_logout(_sender: Any, **kwargs: Any) -> None:
        logged_out.append(kwargs)

    with (
        signals.session_revoked.connected_to(on_revoked),
        signals.user_logged_out.connected_to(on_logout),
    ):
        logout_ok(oc, first.access, deviceId="x")
    user_id = session_row(oc.app, first.session_id).user_id
    ids = sorted([first.session_id, second.session_id])
    assert [
        (r["origin"], r["user_id"], sorted(r["session_ids"]), r["reason"]) for r in revoked
    ] == [(oc.name, user_id, ids, LOGOUT)]
    assert [(e["origin"], sorted(e["session_ids"])) for e in logged_out] == [(oc.name, ids)]


# -- password changes -------------------------------------------------------------------


def test_content_password_change_keeps_only_the_current_session(app: Flask) -> None:
    oc = ContentClient(app)
    oc.create_user("alice")
    current, other = oc.login(), oc.login()
    response = oc.http.post(
        "/api/auth/change-password",
        json={
            "currentPassword": PASSWORD,
            "password": "New-secret-456",
            "passwordConfirmation": "New-secret-456",
        },
        headers=bearer(current.access),
    )
    assert response.status_code == 200, response.get_json()
    assert set(response.get_json()) == {"jwt", "refreshToken", "user", "deviceId"}
    renewed = oc.tokens(response)
    assert renewed.session_id == current.session_id
    assert renewed.refresh != current.refresh

    assert_dead(oc, other)
    assert session_row(app, other.session_id).revoked_reason == PASSWORD_CHANGE
    renewed = assert_alive(oc, renewed)
    assert error(oc.login_response())[0] == 400  # the old password is gone
    assert oc.login_response(password="New-secret-456").status_code == 200
    # the refresh token from before the change no longer refreshes
    assert error(oc.refresh(current.refresh)) == INVALID_REFRESH


def test_admin_password_change_revokes_the_other_admin_sessions(app: Flask) -> None:
    oc, content = AdminClient(app), ContentClient(app)
    oc.create_user("alice", user_id=SHARED_USER_ID)
    content.create_user("alice", user_id=SHARED_USER_ID)
    current, other = oc.login(), oc.login(rememberMe=True)
    content_session = content.login()

    wrong = oc.http.put(
        "/admin/users/me",
        json={"currentPassword": "Wrong-123", "password": "Newpass456"},
        headers=bearer(current.access),
    )
    assert error(wrong) == (400, "ValidationError", "Current password is invalid")
    assert session_row(app, other.session_id).status == ACTIVE

    response = oc.http.put(
        "/admin/users/me",
        json={"currentPassword": PASSWORD, "password": "Newpass456"},
        headers=bearer(current.access),
    )
    assert response.status_code == 200, response.get_json()
    assert_dead(oc, other)
    assert session_row(app, other.session_id).revoked_reason == PASSWORD_CHANGE
    assert_alive(oc, current)
    assert_alive(content, content_session)  # same user id, other origin


# -- deleting one session ---------------------------------------------------------------


def test_user_deletes_one_of_their_own_sessions(oc: OriginClient) -> None:
    current, other = oc.login(), oc.login()
    response = oc.delete_session(current.access, other.session_id)
    assert response.status_code == 200 and response.get_json() == {"data": {}}
    assert_dead(oc, other)
    assert session_row(oc.app, other.session_id).revoked_reason == REVOKED_BY_USER
    current = assert_alive(oc, current)
    # again: it is gone
    again = oc.delete_session(current.access, other.session_id)
    assert error(again) == (404, "NotFoundError", "Session not found")


def test_user_can_delete_the_current_session(oc: OriginClient) -> None:
    current = oc.login()
    assert oc.delete_session(current.access, current.session_id).status_code == 200
    assert_dead(oc, current)


def test_another_users_session_is_not_found(oc: OriginClient) -> None:
    oc.create_user("bob")
    alice, bob = oc.login(), oc.login("bob")
    for session_id in (bob.session_id, uuid.uuid4().hex, "not-a-session"):
        response = oc.delete_session(alice.access, session_id)
        assert error(response) == (404, "NotFoundError", "Session not found")
    assert_alive(oc, bob)
    assert_alive(oc, alice)


def test_the_other_origins_session_of_the_same_user_id_is_not_found(
    app: Flask, origin: str
) -> None:
    own = origin_client(app, origin)
    other = origin_client(app, ADMIN if origin == USERS_PERMISSIONS else USERS_PERMISSIONS)
    own.create_user("alice", user_id=SHARED_USER_ID)
    other.create_user("alice", user_id=SHARED_USER_ID)
    mine, theirs = own.login(), other.login()
    response = own.delete_session(mine.access, theirs.session_id)
    assert error(response) == (404, "NotFoundError", "Session not found")
    assert_alive(other, theirs)


# -- the operator -----------------------------------------------------------------------


def test_operator_revokes_one_all_or_all_but_one(app: Flask, origin: str) -> None:
    oc = origin_client(app, origin)
    user_id = oc.create_user("alice")
    oc.create_user("bob")
    one, two, three, four = (oc.login() for _ in range(4))
    bob = oc.login("bob")
    with app.app_context():
        listed = StrapiSessions.list_sessions(user_id, origin=origin)
        assert {row.session_id for row in listed} == {t.session_id for t in (one, two, three, four)}
        assert StrapiSessions.revoke_session(one.session_id, origin=origin) is True
        assert StrapiSessions.revoke_session(one.session_id, origin=origin) is False
    assert_dead(oc, one)
    assert session_row(app, one.session_id).revoked_reason == OPERATOR

    with app.app_context():
        revoked = StrapiSessions.revoke_others(int(user_id), two.session_id, origin=origin)
    assert sorted(revoked) == sorted([three.session_id, four.session_id])
    assert_dead(oc, three)
    assert_dead(oc, four)
    two = assert_alive(oc, two)

    with app.app_context():
        assert StrapiSessions.revoke_all(user_id, origin=origin) == [two.session_id]
        assert StrapiSessions.list_sessions(user_id, origin=origin) == []
    assert_dead(oc, two)
    assert_alive(oc, bob)


def test_operator_revocation_is_scoped_to_the_origin(app: Flask) -> None:
    content, admin = ContentClient(app), AdminClient(app)
    content.create_user("alice", user_id=SHARED_USER_ID)
    admin.create_user("alice", user_id=SHARED_USER_ID)
    content_session, admin_session = content.login(), admin.login()
    with app.app_context():
        # a session id of the other origin is not revoked through this one
        assert StrapiSessions.revoke_session(admin_session.session_id) is False
        assert StrapiSessions.revoke_all(SHARED_USER_ID) == [content_session.session_id]
    assert_dead(content, content_session)
    assert_alive(admin, admin_session)
