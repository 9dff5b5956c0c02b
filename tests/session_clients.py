"""Drive either origin's session routes the same way, so one test can run on both.

``OriginClient`` sends every token explicitly (no cookie jar): the content API gets its
refresh token in the JSON body, the admin origin in a ``Cookie`` header. Users are made
directly through the origin's user store, so creating one opens no session.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jwt
from flask import Flask
from sqlalchemy import select
from werkzeug.test import TestResponse

from flask_strapi_sessions import StrapiSessions
from flask_strapi_sessions.config import ADMIN, USERS_PERMISSIONS
from flask_strapi_sessions.models import StrapiSession
from tests.support import FAST_HASHER, bearer, set_cookies

ORIGINS = (USERS_PERMISSIONS, ADMIN)
PASSWORD = "Secret123"
ADMIN_COOKIE = "strapi_admin_refresh"


@dataclass(frozen=True)
class Tokens:
    """An access token and the refresh token issued with it."""

    access: str
    refresh: str

    @property
    def session_id(self) -> str:
        claims = jwt.decode(self.access, options={"verify_signature": False})
        return str(claims["sessionId"])


def cookie_value(response: TestResponse, name: str) -> str | None:
    """The value a response's ``Set-Cookie`` gives ``name`` (``""`` when it clears it)."""
    for header in set_cookies(response):
        key, _, rest = header.partition("=")
        if key == name:
            return rest.split(";", 1)[0]
    return None


class OriginClient:
    """Login, refresh, logout and session routes of one origin, tokens passed by hand."""

    name: str
    prefix: str
    logout_path: str
    sessions_path: str

    def __init__(self, app: Flask):
        self.app = app
        self.http = app.test_client(use_cookies=False)

    # -- users (straight into the database) -------------------------------------

    def _store(self) -> Any:
        return StrapiSessions.state().origin(self.name).users

    def _fields(self, username: str) -> dict[str, Any]:
        raise NotImplementedError

    def create_user(self, username: str = "alice", *, user_id: int | None = None) -> str:
        """Add a user with password ``PASSWORD``; returns its id as tokens carry it."""
        fields = self._fields(username)
        if user_id is not None:
            fields["id"] = user_id
        with self.app.app_context():
            state = StrapiSessions.state()
            user = self._store().create(state.session, fields, FAST_HASHER.hash(PASSWORD))
            state.session.commit()
            return str(self._store().user_id(user))

    def update_user(self, user_id: str, **attributes: Any) -> None:
        with self.app.app_context():
            state = StrapiSessions.state()
            user = self._store().get(state.session, user_id)
            for key, value in attributes.items():
                setattr(user, key, value)
            state.session.commit()

    def delete_user(self, user_id: str) -> None:
        with self.app.app_context():
            state = StrapiSessions.state()
            state.session.delete(self._store().get(state.session, user_id))
            state.session.commit()

    # -- routes -----------------------------------------------------------------

    def login_response(self, username: str = "alice", **body: Any) -> TestResponse:
        raise NotImplementedError

    def login(self, username: str = "alice", **body: Any) -> Tokens:
        response = self.login_response(username, **body)
        assert response.status_code == 200, response.get_json()
        return self.tokens(response)

    def refresh(self, token: str) -> TestResponse:
        raise NotImplementedError

    def tokens(self, response: TestResponse) -> Tokens:
        """The tokens of a successful login or refresh answer."""
        raise NotImplementedError

    def me(self, access: str) -> TestResponse:
        return self.http.get(f"{self.prefix}/users/me", headers=bearer(access))

    def logout(self, access: str, **body: Any) -> TestResponse:
        return self.http.post(self.logout_path, json=body, headers=bearer(access))

    def sessions(self, access: str) -> TestResponse:
        return self.http.get(self.sessions_path, headers=bearer(access))

    def delete_session(self, access: str, session_id: str) -> TestResponse:
        return self.http.delete(f"{self.sessions_path}/{session_id}", headers=bearer(access))


class ContentClient(OriginClient):
    name = USERS_PERMISSIONS
    prefix = "/api"
    logout_path = "/api/auth/logout"
    sessions_path = "/api/auth/sessions"

    def _fields(self, username: str) -> dict[str, Any]:
        return {"username": username, "email": f"{username}@example.com"}

    def login_response(self, username: str = "alice", **body: Any) -> TestResponse:
        payload = {"identifier": username, "password": PASSWORD, **body}
        return self.http.post("/api/auth/local", json=payload)

    def refresh(self, token: str) -> TestResponse:
        return self.http.post("/api/auth/refresh", json={"refreshToken": token})

    def tokens(self, response: TestResponse) -> Tokens:
        payload = response.get_json()
        return Tokens(payload["jwt"], payload["refreshToken"])


class AdminClient(OriginClient):
    name = ADMIN
    prefix = "/admin"
    logout_path = "/admin/logout"
    sessions_path = "/admin/users/me/sessions"

    def _fields(self, username: str) -> dict[str, Any]:
        return {"email": f"{username}@example.com", "firstname": username.capitalize()}

    def login_response(self, username: str = "alice", **body: Any) -> TestResponse:
        payload = {"email": f"{username}@example.com", "password": PASSWORD, **body}
        return self.http.post("/admin/login", json=payload)

    def refresh(self, token: str) -> TestResponse:
        return self.http.post(
            "/admin/access-token", json={}, headers={"Cookie": f"{ADMIN_COOKIE}={token}"}
        )

    def tokens(self, response: TestResponse) -> Tokens:
        refresh = cookie_value(response, ADMIN_COOKIE)
        assert refresh, set_cookies(response)
        return Tokens(response.get_json()["data"]["token"], refresh)


def origin_client(app: Flask, origin: str) -> OriginClient:
    return ContentClient(app) if origin == USERS_PERMISSIONS else AdminClient(app)


def session_rows(app: Flask, origin: str | None = None) -> list[StrapiSession]:
    """Every row of ``strapi_sessions`` (of one origin), detached, oldest first."""
    with app.app_context():
        query = select(StrapiSession).order_by(StrapiSession.id)
        if origin is not None:
            query = query.where(StrapiSession.origin == origin)
        db = StrapiSessions.state().session
        rows = list(db.execute(query).scalars())
        db.expunge_all()
        return rows


def session_row(app: Flask, session_id: str) -> StrapiSession:
    (row,) = [row for row in session_rows(app) if row.session_id == session_id]
    return row
