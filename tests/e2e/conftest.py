"""Browser fixtures: the demo app on a real HTTP port, driven by headless Chromium.

Each test gets its own demo server (``examples/app.py``), run by werkzeug's ``make_server``
in a background thread on 127.0.0.1 with an ephemeral port and a temporary SQLite file.
These tests exercise the browser, not the database, so they ignore ``FSS_TEST_DATABASE``
and ``scripts/test.sh`` runs them once, in its SQLite pass. Access tokens live 2 seconds,
so silent refresh happens for real while a test runs; rate limits are off.

The browser is Debian's Chromium (``/usr/bin/chromium``; Playwright's own browser download
cannot work here). When it is missing every test here fails saying how to install it.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import sys
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from flask import Flask, Response, jsonify, request
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.e2e.demo import LiveServer, Seen, fingerprint, open_demo

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("FSS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ACCESS_TTL = 2  # seconds, both origins
VIEWPORT = {"width": 1280, "height": 900}

expect.set_options(timeout=10_000)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.slow)


@cache
def demo_module() -> ModuleType:
    """``examples/app.py``, imported once (its ``db`` and extension serve every test app)."""
    spec = importlib.util.spec_from_file_location("fss_demo_app", ROOT / "examples" / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _record_requests(app: Flask, seen: list[Seen]) -> None:
    @app.after_request
    def record(response: Response) -> Response:
        seen.append(
            Seen(
                method=request.method,
                path=request.path,
                cookies={name: fingerprint(value) for name, value in request.cookies.items()},
                user_agent=request.headers.get("User-Agent"),
                origin=request.headers.get("Origin"),
                fetch_site=request.headers.get("Sec-Fetch-Site"),
                status=response.status_code,
            )
        )
        return response

    # test-only probes (not in the demo): which cookies reach a path under each prefix
    @app.get("/api/e2e-echo")
    def api_echo() -> Any:
        return jsonify(cookies=sorted(request.cookies))

    @app.get("/admin/e2e-echo")
    def admin_echo() -> Any:
        return jsonify(cookies=sorted(request.cookies))


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    """The demo app with 2-second access tokens, served on 127.0.0.1."""
    app = demo_module().create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'e2e.sqlite'}",
            "JWT_SECRET": secrets.token_urlsafe(32),
            "ADMIN_JWT_SECRET": secrets.token_urlsafe(32),
            "UP_JWT_MANAGEMENT": "refresh",
            "UP_SESSIONS_ACCESS_TTL": ACCESS_TTL,
            "ADMIN_SESSIONS_ACCESS_TTL": ACCESS_TTL,
            "UP_RATELIMIT_ENABLED": False,
            "ADMIN_RATELIMIT_ENABLED": False,
        }
    )
    live = LiveServer(app)
    _record_requests(app, live.seen)
    live.start()
    yield live
    live.stop()
    with app.app_context():
        app.extensions["sqlalchemy"].engine.dispose()


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Headless Chromium for the whole package (stopped before the other test files run)."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"the browser tests need Chromium at {CHROMIUM}: install it with "
            "`apt-get install -y chromium` (scripts/test.sh does so when run as root), "
            "or point FSS_CHROMIUM at a Chromium binary",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_context(browser: Browser, server: LiveServer) -> Iterator[Callable[..., BrowserContext]]:
    """``new_context(**options)``: a fresh browser profile (one "device") on the demo.

    Uncaught script errors on any of its pages fail the test at teardown.
    """
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    def factory(**options: Any) -> BrowserContext:
        options.setdefault("base_url", server.url)
        options.setdefault("viewport", VIEWPORT)
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        context.on("page", lambda page: page.on("pageerror", lambda e: errors.append(str(e))))
        contexts.append(context)
        return context

    yield factory
    for context in contexts:
        context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture
def page(new_context: Callable[..., BrowserContext]) -> Page:
    """One tab of one device, with the demo loaded."""
    return open_demo(new_context())
