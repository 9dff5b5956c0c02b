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

# The browser tests (tests/e2e) drive Debian's Chromium: Playwright's own browser download
# cannot work here. Without it they fail and say how to install it.
if [ ! -x /usr/bin/chromium ]; then
  echo "== installing chromium for the browser tests"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
      || echo "could not install chromium: the browser tests will fail" >&2
  else
    echo "not root: run 'apt-get install -y chromium' as root, or the browser tests fail" >&2
  fi
fi

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy (strict)"
.venv/bin/mypy

status=0
for database in ${FSS_DATABASES:-sqlite postgresql mariadb}; do
  echo "== pytest on $database"
  # the browser tests use a SQLite file of their own: run them once, in the SQLite pass
  only_once=()
  [ "$database" = sqlite ] || only_once=(--ignore=tests/e2e)
  FSS_TEST_DATABASE=$database .venv/bin/python -m pytest "${only_once[@]}" "$@" || status=1
done
exit $status
