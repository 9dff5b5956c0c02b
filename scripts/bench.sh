#!/usr/bin/env bash
# Set up (once) and run the benchmark suite; prints Markdown tables with the ratios.
# Usage: scripts/bench.sh [sections] [options]   (see: scripts/bench.sh --help)
#   scripts/bench.sh                      # everything: verify, inprocess, operations, http
#   scripts/bench.sh inprocess --databases sqlite
# PostgreSQL and MariaDB are expected at 127.0.0.1 as for the tests (FSS_POSTGRESQL_URL /
# FSS_MARIADB_URL override); the HTTP section needs wrk, installed here when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test]"

if ! command -v wrk >/dev/null 2>&1; then
  echo "== installing wrk (Debian package)"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq wrk >/dev/null
fi

exec .venv/bin/python -m benchmarks "$@"
