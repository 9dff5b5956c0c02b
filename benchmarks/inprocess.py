"""Protected-route throughput in one process: the guard against a bare route and Flask-JWT-Extended.

Every contender is a ``GET`` through the app's WSGI callable with a prebuilt environ (see
:func:`benchmarks.apps.wsgi_caller`), interleaved round by round. Three apps share one
fresh database: the default app (the session row and the user are read on every
request), the same app with ``*_SESSIONS_CHECK_INTERVAL=1`` (a worker may trust a check
for one second), and one where Flask-JWT-Extended loads the user on every request (for
the "view reads the user" comparison). Before timing, a revoked session's token is
checked to be refused, so the numbers are for a guard that really checks.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass

from flask import Flask

from benchmarks.apps import Call, create_app, status_of, user_tokens, wsgi_caller
from benchmarks.databases import fresh_database
from benchmarks.harness import Result, interleave

#: the issue's targets: default mode vs Flask-JWT-Extended, interval mode vs a bare route
TARGET_VS_FJE = 1.5
TARGET_INTERVAL_VS_BARE = 0.85
INTERVAL = 1.0


@dataclass(frozen=True)
class Ratio:
    label: str
    name: str
    baseline: str
    target: float | None = None


RATIOS = (
    Ratio("content API, default mode / Flask-JWT-Extended", "content", "fje", TARGET_VS_FJE),
    Ratio("admin, default mode / Flask-JWT-Extended", "admin", "fje", TARGET_VS_FJE),
    Ratio("content API, default mode / bare", "content", "bare"),
    Ratio("admin, default mode / bare", "admin", "bare"),
    Ratio("Flask-JWT-Extended / bare", "fje", "bare"),
    Ratio(
        "content API, 1 s check interval / bare",
        "content-interval",
        "bare",
        TARGET_INTERVAL_VS_BARE,
    ),
    Ratio("admin, 1 s check interval / bare", "admin-interval", "bare", TARGET_INTERVAL_VS_BARE),
    Ratio(
        "view reads the user: ours / Flask-JWT-Extended with user loader",
        "content-user",
        "fje-user",
    ),
)


def assert_revocation_is_checked(app: Flask, interval_app: Flask) -> None:
    """A revoked session's token is refused: the guard under test really checks."""
    tokens = user_tokens(app, "revoked")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {tokens.up}"}
    assert client.post("/api/auth/logout", headers=headers).status_code == 200
    for subject in (app, interval_app):
        code = status_of(subject, "/api/protected", tokens.up)
        assert code == 401, f"revoked session accepted ({code})"


def round_trip(app: Flask, cleanup: ExitStack) -> Call:
    """``SELECT 1`` on a held autocommit connection: one network round trip, no pool."""
    with app.app_context():
        engine = app.extensions["sqlalchemy"].engine
    connection = engine.raw_connection()
    cleanup.callback(connection.close)
    driver = connection.dbapi_connection
    if callable(getattr(driver, "autocommit", None)):  # PyMySQL: a method
        driver.autocommit(True)
    else:
        driver.autocommit = True

    def select_one() -> object:
        cursor = connection.cursor()
        cursor.execute("SELECT 1")
        row = cursor.fetchone()
        cursor.close()
        return row

    return select_one


def contenders(url: str, cleanup: ExitStack) -> dict[str, Call]:
    app = create_app(url)
    interval_app = create_app(url, check_interval=INTERVAL)
    fje_user_app = create_app(url, fje_loads_user=True)
    for each in (app, interval_app, fje_user_app):
        cleanup.callback(_dispose, each)
    assert_revocation_is_checked(app, interval_app)
    tokens = user_tokens(app, "bench")
    extra = {} if url.startswith("sqlite") else {"db round trip": round_trip(app, cleanup)}
    return {
        "bare": wsgi_caller(app, "/open/protected"),
        "content": wsgi_caller(app, "/api/protected", tokens.up),
        "admin": wsgi_caller(app, "/admin/protected", tokens.admin),
        "fje": wsgi_caller(app, "/fje/protected", tokens.fje),
        "content-interval": wsgi_caller(interval_app, "/api/protected", tokens.up),
        "admin-interval": wsgi_caller(interval_app, "/admin/protected", tokens.admin),
        "content-user": wsgi_caller(app, "/api/user", tokens.up),
        "fje-user": wsgi_caller(fje_user_app, "/fje/user", tokens.fje),
        **extra,
    }


def _dispose(app: Flask) -> None:
    with app.app_context():
        app.extensions["sqlalchemy"].engine.dispose()


def measure(kind: str, rounds: int, batch_seconds: float) -> Result:
    with fresh_database(kind) as url, ExitStack() as cleanup:
        return interleave(contenders(url, cleanup), rounds=rounds, batch_seconds=batch_seconds)


def report(kind: str, result: Result) -> list[str]:
    cpu_note = kind == "sqlite"
    lines = [
        f"### Protected route, in process — {kind}",
        "",
        "| contender | µs/request (wall) | requests/s (wall) | noise |"
        + (" µs/request (CPU) |" if cpu_note else ""),
        "|---|---:|---:|---:|" + ("---:|" if cpu_note else ""),
    ]
    for name in result.rates:
        row = (
            f"| {name} | {1e6 / result.rate(name):.1f} | {result.rate(name):,.0f} | "
            f"±{result.spread(name) * 100:.0f}% |"
        )
        if cpu_note:
            row += f" {1e6 / result.rate(name, cpu=True):.1f} |"
        lines.append(row)
    lines += [
        "",
        "| throughput ratio | wall | " + ("CPU | " if cpu_note else "") + "target |",
        "|---|---:|" + ("---:|" if cpu_note else "") + "---|",
    ]
    for ratio in RATIOS:
        wall = result.ratio(ratio.name, ratio.baseline)
        row = f"| {ratio.label} | {wall:.2f}x |"
        verdict = wall
        if cpu_note:
            cpu = result.ratio(ratio.name, ratio.baseline, cpu=True)
            row += f" {cpu:.2f}x |"
        if ratio.target is None:
            row += " |"
        else:
            met = "met" if verdict >= ratio.target else "NOT met"
            row += f" ≥ {ratio.target}x: {met} |"
        lines.append(row)
    return lines


def run(kinds: list[str], rounds: int, batch_seconds: float) -> list[str]:
    lines: list[str] = []
    for kind in kinds:
        result = measure(kind, rounds, batch_seconds)
        lines += [*report(kind, result), ""]
        print("\n".join(report(kind, result)), "\n", flush=True)
    return lines
