"""Gunicorn entry point for the multi-process tests: ``tests.mp.wsgi:app``.

Each worker builds its own app (no ``--preload``: a worker must never inherit the
master's database connections). The extension reads its settings (secrets, grace,
rate limits…) from the environment as usual; this module adds what has no env key:

- ``FSS_MP_DATABASE_URL``: the SQLAlchemy URL (the test created the tables);
- ``FSS_MP_ENGINE_OPTIONS``: JSON for ``SQLALCHEMY_ENGINE_OPTIONS`` (pool_pre_ping,
  connect_args with short timeouts);
- ``FSS_MP_SQLITE_PRAGMAS``: ``off`` keeps SQLite's defaults (rollback journal, the busy
  timeout of ``connect_args``) instead of WAL with a 10 s busy timeout;
- ``FSS_MP_READY_DIR``: each worker writes a file named after its pid there once its app
  is built, so the test knows when every worker is serving.

Every answer carries ``X-Worker: <pid>`` so a test can see that several processes served it,
and ``/private`` is an app view behind ``@login_required``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event

from flask_strapi_sessions import StrapiSessions, login_required
from tests.support import FAST_HASHER


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def create_app() -> Flask:
    app = Flask("fss_mp")
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["FSS_MP_DATABASE_URL"]
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = json.loads(
        os.environ.get("FSS_MP_ENGINE_OPTIONS", "{}")
    )
    db = SQLAlchemy(app)
    StrapiSessions(app, db, password_hasher=FAST_HASHER)
    with app.app_context():
        pragmas = os.environ.get("FSS_MP_SQLITE_PRAGMAS", "on") != "off"
        if db.engine.dialect.name == "sqlite" and pragmas:
            event.listen(db.engine, "connect", _sqlite_pragmas)

    @app.get("/private")
    @login_required
    def private() -> Response:
        return jsonify({"secret": "only for logged-in users"})

    @app.after_request
    def tag_worker(response: Response) -> Response:
        response.headers["X-Worker"] = str(os.getpid())
        return response

    return app


app = create_app()

if ready := os.environ.get("FSS_MP_READY_DIR"):
    (Path(ready) / str(os.getpid())).touch()
