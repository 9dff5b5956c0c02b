"""Run the benchmark suite and print its tables: ``python -m benchmarks`` (see ``--help``).

Sections, each interleaving its contenders round by round in one run:

- ``verify``: access-token verification alone, ``verify_jwt`` vs a plain PyJWT decode;
- ``inprocess``: protected-route throughput through the WSGI callable — a bare route,
  ``@login_required`` (content API and admin, default mode and 1 s check interval) and
  Flask-JWT-Extended's ``@jwt_required()``, with the issue's targets checked;
- ``operations``: login, refresh and logout per second on each database;
- ``http``: wrk against gunicorn workers on 127.0.0.1 (needs ``wrk``).

The table-size benchmark is separate: ``python -m benchmarks.scale``.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import inprocess, loadtest, operations, verify
from benchmarks.databases import KINDS

SECTIONS = ("verify", "inprocess", "operations", "http")
ROOT = Path(__file__).resolve().parents[1]


def machine() -> list[str]:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        commit = "?"
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return [
        f"- date: {time.strftime('%Y-%m-%d %H:%M %Z')}; commit: {commit or '?'}",
        f"- machine: {os.cpu_count()} CPUs (nproc), {cpu}; load average at start: {load}",
        f"- Python {platform.python_version()} on {platform.system()} {platform.release()}",
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("sections", nargs="*", help=f"any of {', '.join(SECTIONS)} (default: all)")
    parser.add_argument(
        "--databases", default=",".join(KINDS), help="comma-separated: sqlite,postgresql,mariadb"
    )
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds")
    parser.add_argument("--batch", type=float, default=0.2, help="seconds per timed batch")
    parser.add_argument("--quick", action="store_true", help="few short rounds (a smoke run)")
    parser.add_argument("--http-database", default="sqlite", choices=KINDS)
    parser.add_argument("--http-seconds", type=int, default=10, help="wrk duration per route")
    parser.add_argument("--http-workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--http-connections", type=int, default=16)
    parser.add_argument("--http-threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--http-passes", type=int, default=2, help="alternating passes")
    args = parser.parse_args()
    logging.getLogger("flask_strapi_sessions").setLevel(logging.ERROR)
    sections = args.sections or list(SECTIONS)
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}: choose from {', '.join(SECTIONS)}")
    kinds = [kind.strip() for kind in args.databases.split(",") if kind.strip()]
    rounds, batch = (3, 0.05) if args.quick else (args.rounds, args.batch)
    seconds = 2 if args.quick else args.http_seconds

    lines = ["## Benchmark results", "", *machine()]
    print("\n".join(lines), flush=True)
    if "verify" in sections:
        lines += verify.run(rounds, batch)
    if "inprocess" in sections:
        lines += inprocess.run(kinds, rounds, batch)
    if "operations" in sections:
        lines += operations.run(kinds, max(3, rounds // 3), batch * 2)
    if "http" in sections:
        lines += loadtest.run(
            args.http_database,
            seconds,
            args.http_workers,
            args.http_connections,
            args.http_threads,
            1 if args.quick else args.http_passes,
        )
    output = os.environ.get("FSS_BENCH_OUTPUT")
    if output:
        Path(output).write_text("\n".join(lines) + "\n")
        print(f"written to {output}", file=sys.stderr)


if __name__ == "__main__":
    main()
