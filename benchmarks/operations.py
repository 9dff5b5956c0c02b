"""Login, refresh and logout operations per second, in process, on each database.

Each operation is a ``POST`` through the app's WSGI callable (JSON body, answer parsed),
on a fresh database per kind with the server's default durability (every commit waits
for the disk flush). Rounds alternate between the operations; the rate is the median.

- ``login``: ``POST /api/auth/local`` with a cheap Argon2id (64 KiB, 1 pass), so the
  session machinery is what is measured; ``login (OWASP Argon2id)`` is the same with the
  default hasher (19 MiB, 2 passes) — there the hash is nearly all the cost, by design;
- ``refresh``: ``POST /api/auth/refresh`` rotating one of 32 live sessions in turn;
- ``logout``: ``POST /api/auth/logout`` with the access token of a live session (the
  sessions are opened, untimed, before each batch).
"""

from __future__ import annotations

import gc
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from flask import Flask
from werkzeug.test import EnvironBuilder

from benchmarks.apps import PASSWORD, create_app
from benchmarks.databases import fresh_database
from flask_strapi_sessions import PasswordHasher

REFRESH_POOL = 32


def post(app: Flask, path: str, body: dict[str, Any], token: str | None = None) -> Any:
    """One ``POST path`` with a JSON body through the WSGI callable; the parsed answer."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    environ = EnvironBuilder(method="POST", path=path, json=body, headers=headers).get_environ()
    status: list[str] = []
    chunks = app(environ, lambda line, _headers, _exc=None: status.append(line))
    try:
        payload = b"".join(chunks)
    finally:
        getattr(chunks, "close", lambda: None)()
    if not status[0].startswith("200"):
        raise AssertionError(f"POST {path}: {status[0]} {payload[:200]!r}")
    return json.loads(payload)


class Subject:
    """One app, one user, and the sessions the operations consume."""

    def __init__(self, app: Flask, username: str):
        self.app = app
        self.login_body = {"identifier": f"{username}@example.com", "password": PASSWORD}
        body = {"username": username, "email": f"{username}@example.com", "password": PASSWORD}
        post(app, "/api/auth/local/register", body)
        self.refresh_tokens = [self.login()["refreshToken"] for _ in range(REFRESH_POOL)]
        self.turn = 0
        self.logout_tokens: list[str] = []

    def login(self) -> Any:
        return post(self.app, "/api/auth/local", self.login_body)

    def refresh(self) -> None:
        slot = self.turn % REFRESH_POOL
        self.turn += 1
        answer = post(self.app, "/api/auth/refresh", {"refreshToken": self.refresh_tokens[slot]})
        self.refresh_tokens[slot] = answer["refreshToken"]

    def prepare_logouts(self, count: int) -> None:
        while len(self.logout_tokens) < count:
            self.logout_tokens.append(self.login()["jwt"])

    def logout(self) -> None:
        post(self.app, "/api/auth/logout", {}, self.logout_tokens.pop())


def _rate(operation: Callable[[], object], count: int) -> float:
    gc.collect()
    start = time.perf_counter()
    for _ in range(count):
        operation()
    return count / (time.perf_counter() - start)


def measure(kind: str, rounds: int, batch_seconds: float) -> dict[str, list[float]]:
    with fresh_database(kind) as url:
        cheap = Subject(create_app(url), "ops")
        owasp = Subject(create_app(url, hasher=PasswordHasher()), "owasp")
        operations: dict[str, Callable[[], object]] = {
            "login": cheap.login,
            "refresh": cheap.refresh,
            "logout": cheap.logout,
            "login (OWASP Argon2id)": owasp.login,
        }
        # calibrate: how many of each fill a batch
        cheap.prepare_logouts(20)
        counts = {
            name: max(3, int(batch_seconds * _rate(operation, 3 if "OWASP" in name else 20)))
            for name, operation in operations.items()
        }
        rates: dict[str, list[float]] = {name: [] for name in operations}
        names = list(operations)
        for round_no in range(rounds):
            shift = round_no % len(names)
            for name in names[shift:] + names[:shift]:
                if name == "logout":
                    cheap.prepare_logouts(counts[name])
                rates[name].append(_rate(operations[name], counts[name]))
        return rates


def run(kinds: list[str], rounds: int, batch_seconds: float) -> list[str]:
    results = {kind: measure(kind, rounds, batch_seconds) for kind in kinds}
    names = list(next(iter(results.values())))
    lines = [
        "### Login, refresh, logout — operations per second, one process",
        "",
        "| operation | " + " | ".join(kinds) + " |",
        "|---|" + "---:|" * len(kinds),
    ]
    for name in names:
        cells = []
        for kind in kinds:
            median = statistics.median(results[kind][name])
            cells.append(f"{median:,.0f}/s ({1000 / median:.2f} ms)")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    print("\n".join(lines), "\n", flush=True)
    return [*lines, ""]
