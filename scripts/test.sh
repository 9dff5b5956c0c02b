#!/usr/bin/env bash
# Set up (once) and run every check: lint, types, and the test suite on SQLite,
# PostgreSQL and MariaDB. Usage: scripts/test.sh [extra pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test]"

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy (strict)"
.venv/bin/mypy

status=0
for database in ${FSS_DATABASES:-sqlite postgresql mariadb}; do
  echo "== pytest on $database"
  FSS_TEST_DATABASE=$database .venv/bin/python -m pytest "$@" || status=1
done
exit $status
