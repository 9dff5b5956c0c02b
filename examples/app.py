"""The Flask-Strapi-Sessions demo: both origins on an embedded SQLite database.

    flask --app examples/app.py run

Every SPEC key (``JWT_SECRET``, ``UP_JWT_MANAGEMENT``…) and ``SQLALCHEMY_DATABASE_URI`` is
read from the environment. Without secrets the demo makes throwaway ones and says so:
tokens then stop working when the process restarts.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask, jsonify, send_from_directory
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event

from flask_strapi_sessions import StrapiSessions, current_user, login_required

STATIC = Path(__file__).with_name("static")

db = SQLAlchemy()
strapi = StrapiSessions(db=db)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers and one writer work at once; wait for locks instead of failing."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """The demo app; ``config`` overrides what the environment says."""
    app = Flask(__name__, instance_relative_config=True, static_folder=None)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get(
        "SQLALCHEMY_DATABASE_URI", f"sqlite:///{Path(app.instance_path) / 'demo.sqlite'}"
    )
    # the page shows off sessions, so the demo runs the content API in refresh mode
    # unless told otherwise (the extension's own default is legacy-support, as Strapi's)
    app.config["UP_JWT_MANAGEMENT"] = os.environ.get("UP_JWT_MANAGEMENT", "refresh")
    # keep each origin's refresh cookie to its own prefix, as the admin one is by default
    # (``/admin``): the content-API cookie then never travels with admin requests
    app.config["UP_SESSIONS_COOKIE_PATH"] = os.environ.get("UP_SESSIONS_COOKIE_PATH", "/api")
    app.config.update(config or {})
    for key in ("ADMIN_JWT_SECRET", "JWT_SECRET"):
        if not app.config.get(key) and not os.environ.get(key):
            app.config[key] = secrets.token_urlsafe(32)
            app.logger.warning(
                "%s is not set: using a throwaway secret for this demo process. "
                "Tokens stop working when it restarts; set %s for anything real.",
                key,
                key,
            )
    db.init_app(app)
    strapi.init_app(app)
    with app.app_context():
        # on this app's engine only: a listener on the Engine class would change every
        # SQLite database the process opens
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_pragmas)
        db.create_all()

    @app.get("/")
    def index() -> Any:
        return send_from_directory(STATIC, "index.html")

    @app.get("/static/<path:name>")
    def static_file(name: str) -> Any:
        return send_from_directory(STATIC, name)

    @app.get("/api/hello")
    @login_required
    def hello() -> Any:
        """An app's own view protected by the content API."""
        return jsonify(message=f"Hello, {current_user.username}!")

    @app.get("/admin/hello")
    @login_required(origin="admin")
    async def admin_hello() -> Any:
        """An async view protected by the admin origin."""
        return jsonify(message=f"Hello, {current_user.firstname}!")

    return app
