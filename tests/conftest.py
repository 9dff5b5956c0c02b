"""Shared fixtures: a fake clock, a database per test run, and an app factory.

``FSS_TEST_DATABASE`` picks the database: ``sqlite`` (default), ``postgresql`` or
``mariadb`` (servers at 127.0.0.1, see README). A run that asks for a server that is not
reachable fails at start with a clear message; it never skips.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support import FakeClock, TestDatabase, build_app, dispose_app

TEST_PASSWORD = "Secret123"


@pytest.fixture(scope="session")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestDatabase]:
    db = TestDatabase.from_environment(tmp_path_factory.mktemp("db"))
    yield db
    db.drop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_app(database: TestDatabase, clock: FakeClock) -> Iterator[Callable[..., Flask]]:
    """``make_app(KEY=value, …)``: a fresh app on the test database with config overrides.

    ``ext_options`` go to ``StrapiSessions`` (e.g. ``up_users=…``).
    """
    apps: list[Flask] = []

    def factory(*, ext_options: dict[str, Any] | None = None, **overrides: Any) -> Flask:
        app = build_app(database, clock, overrides, ext_options=ext_options)
        apps.append(app)
        return app

    yield factory
    for app in apps:
        dispose_app(app)


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    """The default app: both origins, content API in ``refresh`` mode."""
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
