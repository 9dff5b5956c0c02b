"""Gunicorn entry point for the HTTP benchmark: ``benchmarks.wsgi:app``.

``FSS_BENCH_DATABASE_URL`` names the database (tables already made by the benchmark),
``FSS_BENCH_CHECK_INTERVAL`` the session check interval, and ``FSS_BENCH_SECRETS``
carries the signing secrets, so tokens minted by the benchmark process verify here.
"""

from __future__ import annotations

import os

from benchmarks.apps import create_app

app = create_app(
    os.environ["FSS_BENCH_DATABASE_URL"],
    check_interval=float(os.environ.get("FSS_BENCH_CHECK_INTERVAL", "0")),
)
