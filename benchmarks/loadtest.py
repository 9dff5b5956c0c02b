"""HTTP throughput and latency: wrk against gunicorn workers on 127.0.0.1.

A separate load generator (``wrk``, Debian's package) drives ``benchmarks.wsgi:app``
under gunicorn (``gthread`` workers, one thread each, keep-alive) for a bounded time per
route: the bare route, the content API's ``@login_required`` view, the admin one,
Flask-JWT-Extended's, the content view again with a 1 s check interval, and
``POST /api/auth/refresh`` — where a Lua script (``refresh.lua``) gives every request a
live refresh token and puts each successor back, so no token is presented twice. The
load generator and the server share the machine's cores.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmarks.apps import SECRETS, create_app, user_tokens
from benchmarks.databases import fresh_database
from benchmarks.operations import post

ROOT = Path(__file__).resolve().parents[1]
LUA = Path(__file__).with_name("refresh.lua")
PERCENTILES = ("50%", "90%", "99%")


@dataclass(frozen=True)
class Run:
    label: str
    requests_per_second: float
    latency: dict[str, str]
    errors: str


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def gunicorn(url: str, workers: int, check_interval: float) -> Iterator[str]:
    """Serve the benchmark app; yield its base URL."""
    port = _free_port()
    env = {
        **os.environ,
        "FSS_BENCH_DATABASE_URL": url,
        "FSS_BENCH_CHECK_INTERVAL": str(check_interval),
        "FSS_BENCH_SECRETS": json.dumps(SECRETS),
    }
    log = Path(tempfile.gettempdir()) / f"fss-bench-gunicorn-{port}.log"
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        f"--bind=127.0.0.1:{port}",
        f"--workers={workers}",
        "--worker-class=gthread",
        "--threads=1",
        "--keep-alive=30",
        "--log-level=warning",
        f"--error-logfile={log}",
        "benchmarks.wsgi:app",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/open/protected", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start: see {log}")
            time.sleep(0.2)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wrk(label: str, url: str, seconds: int, connections: int, threads: int, *extra: str) -> Run:
    command = [
        "wrk",
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={seconds}s",
        "--timeout=10s",
        "--latency",
        *extra,
    ]
    script_args: list[str] = []
    if "--" in command:
        cut = command.index("--")
        command, script_args = command[:cut], command[cut:]
    output = subprocess.run(
        [*command, url, *script_args], capture_output=True, text=True, check=True
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    distribution = output.split("Latency Distribution", 1)[-1]
    latency = {
        p: m.group(1)
        for p in PERCENTILES
        if (m := re.search(rf"^\s+{p}\s+(\S+)", distribution, re.MULTILINE))
    }
    problems = [
        line.strip() for line in output.splitlines() if "Non-2xx" in line or "Socket errors" in line
    ]
    return Run(label, rate, latency, "; ".join(problems) or "none")


def _milliseconds(text: str) -> float:
    number = float(re.sub(r"[a-z]+$", "", text))
    unit = re.sub(r"^[\d.]+", "", text)
    return number * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}.get(unit, float("nan"))


def _summary(label: str, runs: list[Run]) -> str:
    rate = sum(run.requests_per_second for run in runs) / len(runs)
    cells = []
    for p in PERCENTILES:
        values = [_milliseconds(run.latency[p]) for run in runs if p in run.latency]
        cells.append(f"{sum(values) / len(values):.2f} ms" if values else "?")
    errors = "; ".join(sorted({run.errors for run in runs}))
    return f"| {label} | {rate:,.0f} | " + " | ".join(cells) + f" | {errors} |"


def run(
    kind: str, seconds: int, workers: int, connections: int, threads: int, passes: int = 2
) -> list[str]:
    """Each route for ``seconds``, ``passes`` times in alternating order (A…Z, Z…A)."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: run scripts/bench.sh, or apt-get install wrk")
    with fresh_database(kind) as url:
        app = create_app(url)
        tokens = user_tokens(app, "http")
        login = {"identifier": "http@example.com", "password": "Bench-pass-1"}
        with gunicorn(url, workers, 0.0) as base, gunicorn(url, workers, 1.0) as interval_base:
            auth = "Authorization: Bearer {}"

            def get(label: str, url: str, token: str | None) -> Callable[[], Run]:
                header = ["--header", auth.format(token)] if token else []
                return lambda: wrk(label, url, seconds, connections, threads, *header)

            def refresh() -> Run:
                fresh = [
                    post(app, "/api/auth/local", login)["refreshToken"]
                    for _ in range(2 * connections)
                ]
                with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as listing:
                    listing.write("\n".join(fresh) + "\n")
                try:
                    per_thread = str(len(fresh) // threads)
                    script = ["--script", str(LUA), "--", listing.name, per_thread]
                    return wrk("refresh", base, seconds, connections, threads, *script)
                finally:
                    os.unlink(listing.name)

            targets: dict[str, Callable[[], Run]] = {
                "bare route": get("bare", base + "/open/protected", None),
                "content API @login_required": get("content", base + "/api/protected", tokens.up),
                "admin @login_required": get("admin", base + "/admin/protected", tokens.admin),
                "Flask-JWT-Extended @jwt_required()": get(
                    "fje", base + "/fje/protected", tokens.fje
                ),
                "content API, 1 s check interval": get(
                    "interval", interval_base + "/api/protected", tokens.up
                ),
                "POST /api/auth/refresh (rotation)": refresh,
            }
            results: dict[str, list[Run]] = {label: [] for label in targets}
            for number in range(passes):
                order = list(targets) if number % 2 == 0 else list(reversed(targets))
                for label in order:
                    results[label].append(targets[label]())
                    print(f"  pass {number + 1}: {label}: {results[label][-1]}", flush=True)
    lines = [
        f"### HTTP: wrk → gunicorn on 127.0.0.1 — {kind}",
        "",
        f"gunicorn: {workers} gthread workers x 1 thread; wrk: {threads} threads, "
        f"{connections} connections, {seconds} s per route, {passes} passes in alternating "
        "order (means shown).",
        "",
        "| route | requests/s | p50 | p90 | p99 | errors |",
        "|---|---:|---:|---:|---:|---|",
    ]
    lines += [_summary(label, runs) for label, runs in results.items()]

    def mean(label: str) -> float:
        runs = results[label]
        return sum(run.requests_per_second for run in runs) / len(runs)

    content, bare = mean("content API @login_required"), mean("bare route")
    fje = mean("Flask-JWT-Extended @jwt_required()")
    interval = mean("content API, 1 s check interval")
    lines += [
        "",
        f"HTTP throughput ratios: content API / Flask-JWT-Extended {content / fje:.2f}x, "
        f"content API / bare {content / bare:.2f}x, 1 s check interval / bare "
        f"{interval / bare:.2f}x.",
    ]
    print("\n".join(lines), "\n", flush=True)
    return [*lines, ""]
