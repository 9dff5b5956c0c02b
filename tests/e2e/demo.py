"""Helpers that drive the demo page the way a user does, and read what it shows."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from playwright.sync_api import BrowserContext, Locator, Page, expect
from sqlalchemy import select
from werkzeug.serving import BaseWSGIServer, make_server

from flask_strapi_sessions.models import StrapiSession

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
PASSWORD = "Secret123"
ENDED_MESSAGE = "Your session has ended — please log in again."
UP_COOKIE = "strapi_up_refresh"
ADMIN_COOKIE = "strapi_admin_refresh"
#: a second "device" for tests that need two: the server names it "Firefox on Windows"
FIREFOX_ON_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
)


@dataclass(frozen=True)
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    #: cookie name → first 12 hex digits of the SHA-256 of its value
    cookies: dict[str, str]
    user_agent: str | None
    origin: str | None
    fetch_site: str | None
    status: int


@dataclass
class LiveServer:
    """A WSGI app served on a real port in a background thread."""

    app: Flask
    host: str = "127.0.0.1"
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._server: BaseWSGIServer = make_server(self.host, 0, self.app, threaded=True)
        self.port = self._server.server_port
        self.url = f"http://{self.host}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def requests_to(self, path: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.path == path]


def fingerprint(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:12]


def open_demo(context: BrowserContext, init_script: str | None = None) -> Page:
    """A new tab on the demo, once its start-up (the silent refresh check) has finished.

    ``init_script`` runs in that tab before the page's own scripts.
    """
    page = context.new_page()
    if init_script:
        page.add_init_script(init_script)
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("data-ready", "true")
    return page


def panel(page: Page, origin: str) -> Locator:
    return page.get_by_test_id(f"{origin}-panel")


def expect_state(page: Page, origin: str, state: str) -> None:
    """``logged-out``, ``logged-in`` or ``ended``."""
    expect(panel(page, origin)).to_have_attribute("data-state", state)


def register_user(page: Page, username: str) -> None:
    page.get_by_test_id("up-register-username").fill(username)
    page.get_by_test_id("up-register-email").fill(f"{username}@example.com")
    page.get_by_test_id("up-register-password").fill(PASSWORD)
    page.get_by_test_id("up-register-submit").click()
    expect_state(page, "up", "logged-in")
    expect(page.get_by_test_id("up-user")).to_contain_text(username)


def login_user(page: Page, identifier: str) -> None:
    page.get_by_test_id("up-login-identifier").fill(identifier)
    page.get_by_test_id("up-login-password").fill(PASSWORD)
    page.get_by_test_id("up-login-submit").click()
    expect_state(page, "up", "logged-in")


def create_admin(server: LiveServer, email: str = "ada@example.com") -> str:
    """An administrator made with ``flask strapi create-admin`` (so with no session yet)."""
    result = server.app.test_cli_runner().invoke(
        args=[
            *("strapi", "create-admin", "--email", email, "--password", PASSWORD),
            *("--firstname", "Ada", "--lastname", "Lovelace"),
        ]
    )
    assert result.exit_code == 0, result.output
    return email


def login_admin(page: Page, email: str, *, remember: bool) -> None:
    page.get_by_test_id("admin-login-email").fill(email)
    page.get_by_test_id("admin-login-password").fill(PASSWORD)
    page.get_by_test_id("admin-login-remember").set_checked(remember)
    page.get_by_test_id("admin-login-submit").click()
    expect_state(page, "admin", "logged-in")
    expect(page.get_by_test_id("admin-user")).to_contain_text(email)


def access_token(page: Page, origin: str) -> str | None:
    """The access token the page holds in memory (``window.fss.state``)."""
    token: str | None = page.evaluate("o => window.fss.state[o].jwt", origin)
    return token


def wait_for_new_token(page: Page, origin: str, old: str | None, timeout: float = 8_000) -> str:
    """Block until the page holds an access token other than ``old``; return it."""
    page.wait_for_function(
        "([o, old]) => { const t = window.fss.state[o].jwt; return !!t && t !== old; }",
        arg=[origin, old],
        timeout=timeout,
    )
    token = access_token(page, origin)
    assert token is not None
    return token


def claims(token: str) -> dict[str, Any]:
    """A JWT's payload, unverified."""
    payload = token.split(".")[1]
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return data


def call_me(page: Page, origin: str) -> dict[str, Any] | None:
    """The page's own ``/users/me`` call (refreshing on 401); None once the session ended."""
    user: dict[str, Any] | None = page.evaluate("o => window.fss.callMe(o)", origin)
    return user


def sessions_in_db(server: LiveServer) -> list[StrapiSession]:
    """Every session row, detached, straight from the demo's database."""
    app = server.app
    with app.app_context():
        db: SQLAlchemy = app.extensions["sqlalchemy"]
        rows = list(db.session.scalars(select(StrapiSession).order_by(StrapiSession.id)))
        db.session.expunge_all()
        return rows


def screenshot(page: Page, name: str) -> None:
    """Save the whole page as ``docs/screenshots/<name>.png``."""
    expect(page.locator("[aria-busy=true]")).to_have_count(0)  # no action half-way
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True, animations="disabled")
