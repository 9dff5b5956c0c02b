"""The benchmark app: one Flask app carrying every contender's route, and a WSGI caller.

Routes, all returning the same small JSON body so only the protection differs:

- ``GET /open/protected``: no protection (same path depth as the others, so routing
  costs the same; ``GET /bare`` is the same view at one segment);
- ``GET /api/protected``: ``@login_required`` (content API in ``refresh`` mode: the
  session row and the user are checked on every request);
- ``GET /admin/protected``: ``@login_required(origin="admin")``;
- ``GET /fje/protected``: Flask-JWT-Extended's ``@jwt_required()`` (stateless: no
  revocation check, no user load — how it is used by default);
- ``GET /api/user``, ``GET /fje/user``: the same, reading the user's name, Flask-JWT-
  Extended with a ``user_lookup_loader`` on the same table.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask_jwt_extended import JWTManager, create_access_token, jwt_required
from flask_jwt_extended import current_user as fje_user
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event
from werkzeug.test import EnvironBuilder

from benchmarks.databases import sqlite_pragmas
from flask_strapi_sessions import PasswordHasher, StrapiSessions, current_user, login_required
from flask_strapi_sessions.models import UpUser

#: Argon2id at its cheapest, so login measures the session machinery, not the hash
CHEAP_HASHER = PasswordHasher(memory_cost=64, time_cost=1, parallelism=1)
#: random per run; ``FSS_BENCH_SECRETS`` (JSON) hands the same ones to gunicorn workers
SECRETS: dict[str, str] = json.loads(os.environ.get("FSS_BENCH_SECRETS", "{}")) or {
    "ADMIN_JWT_SECRET": secrets.token_urlsafe(32),
    "JWT_SECRET": secrets.token_urlsafe(32),
    "JWT_SECRET_KEY": secrets.token_urlsafe(32),  # Flask-JWT-Extended's
}
PASSWORD = "Bench-pass-1"
ADMIN_EMAIL = "bench-admin@example.com"

Call = Callable[[], object]


def config(url: str, check_interval: float = 0.0, **extra: Any) -> dict[str, Any]:
    return {
        "SQLALCHEMY_DATABASE_URI": url,
        "UP_JWT_MANAGEMENT": "refresh",
        "ADMIN_RATELIMIT_ENABLED": False,
        "UP_RATELIMIT_ENABLED": False,
        "UP_SESSIONS_CHECK_INTERVAL": check_interval,
        "ADMIN_SESSIONS_CHECK_INTERVAL": check_interval,
        "ADMIN_COOKIE_SECURE": False,
        **SECRETS,
        **extra,
    }


def create_app(
    url: str,
    *,
    check_interval: float = 0.0,
    hasher: PasswordHasher = CHEAP_HASHER,
    fje_loads_user: bool = False,
    **extra: Any,
) -> Flask:
    """The benchmark app on ``url`` (tables created, not emptied).

    ``fje_loads_user``: register Flask-JWT-Extended's ``user_lookup_loader`` (it then
    loads the user on every protected request, whether the view uses it or not).
    """
    app = Flask("fss_bench")
    app.config.update(config(url, check_interval, **extra))
    db = SQLAlchemy()
    db.init_app(app)
    StrapiSessions(app, db, password_hasher=hasher)
    jwt = JWTManager(app)

    if fje_loads_user:

        @jwt.user_lookup_loader
        def _load_user(_header: dict[str, Any], data: dict[str, Any]) -> Any:
            return db.session.get(UpUser, int(data["sub"]))

    @app.get("/bare")
    def bare_short() -> Any:
        return {"ok": True}

    @app.get("/open/protected")
    def bare() -> Any:
        return {"ok": True}

    @app.get("/api/protected")
    @login_required
    def content_protected() -> Any:
        return {"ok": True}

    @app.get("/admin/protected")
    @login_required(origin="admin")
    def admin_protected() -> Any:
        return {"ok": True}

    @app.get("/fje/protected")
    @jwt_required()
    def fje_protected() -> Any:
        return {"ok": True}

    @app.get("/api/user")
    @login_required
    def content_user() -> Any:
        return {"name": current_user.username}

    @app.get("/fje/user")
    @jwt_required()
    def fje_user_view() -> Any:
        return {"name": fje_user.username}

    with app.app_context():
        if url.startswith("sqlite"):
            event.listen(db.engine, "connect", sqlite_pragmas)
        db.create_all()
    return app


@dataclass
class Tokens:
    """Bearer tokens of one content-API user, one admin, and Flask-JWT-Extended's."""

    up: str
    admin: str
    fje: str
    up_refresh: str


def user_tokens(app: Flask, username: str) -> Tokens:
    """Register ``username`` (and the admin, first time) and log both in."""
    client = app.test_client()
    email = f"{username}@example.com"
    body = {"username": username, "email": email, "password": PASSWORD}
    response = client.post("/api/auth/local/register", json=body)
    if response.status_code != 200:
        response = client.post("/api/auth/local", json={"identifier": email, "password": PASSWORD})
    assert response.status_code == 200, response.get_data(as_text=True)
    up = response.get_json()
    admin_body = {"email": ADMIN_EMAIL, "firstname": "Ben", "password": PASSWORD}
    client.post("/admin/register-admin", json=admin_body)
    response = client.post("/admin/login", json={"email": ADMIN_EMAIL, "password": PASSWORD})
    assert response.status_code == 200, response.get_data(as_text=True)
    admin = response.get_json()["data"]["token"]
    with app.app_context():
        fje = create_access_token(identity=str(up["user"]["id"]))
    return Tokens(up=up["jwt"], admin=admin, fje=fje, up_refresh=up["refreshToken"])


def wsgi_caller(app: Flask, path: str, token: str | None = None, expect: int = 200) -> Call:
    """A function making one ``GET path`` through the app's WSGI callable.

    The environ is built once and copied per call: every contender pays the same, and
    no test-client machinery is measured. The first call checks the status.
    """
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    environ = EnvironBuilder(path=path, headers=headers).get_environ()
    seen = [""]

    def start_response(status: str, _headers: Any, _exc_info: Any = None) -> None:
        seen[0] = status

    def call() -> object:
        body = app(dict(environ), start_response)
        try:
            for _chunk in body:
                pass
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
        return body

    call()
    if int(seen[0].split()[0]) != expect:
        raise AssertionError(f"GET {path}: expected {expect}, got {seen[0]}")
    return call


def status_of(app: Flask, path: str, token: str) -> int:
    """The status code of one ``GET path`` with ``token``."""
    return app.test_client().get(path, headers={"Authorization": f"Bearer {token}"}).status_code
