#!/usr/bin/env bash
# Runs tests/test_neighbour_sqlmypy.py (mypy-session chained with sqlalchemy-stubs' sqlmypy
# plugin, both orders) in a virtual environment of its own: sqlalchemy-stubs needs
# SQLAlchemy 1.x and breaks SQLAlchemy 2.x types, so it never goes into the main one.
# It runs once per mypy version, the newest supported and the oldest (docs/compatibility.md).
# Usage: tests/scripts/test-sqlmypy.sh [pytest args]
#   SQLMYPY_MYPY_VERSIONS="2.4.1 1.11.2"   mypy versions to run against (default)
#   SQLMYPY_VENV=...                       where the environment goes (default under $TMPDIR)
set -euo pipefail
cd "$(dirname "$0")/../.."
MYPY_VERSIONS="${SQLMYPY_MYPY_VERSIONS:-2.4.1 1.11.2}"
venv="${SQLMYPY_VENV:-${TMPDIR:-/tmp}/mypy-session-sqlmypy-venv}"
python3 -m venv --clear "$venv"
py="$venv/bin/python"
"$py" -m pip install --quiet --upgrade pip
# No `.[test]`: that extra pins SQLAlchemy 2.
"$py" -m pip install --quiet -e . "sqlalchemy<2" sqlalchemy-stubs pytest
for version in $MYPY_VERSIONS; do
    "$py" -m pip install --quiet "mypy==$version"
    echo "== $("$py" -m pip list 2>/dev/null | grep -iE '^(mypy|sqlalchemy|sqlalchemy-stubs) ' | tr -s ' ' | paste -sd ',' -)"
    # The tests skip where sqlmypy is missing; here that would be a broken set-up.
    "$py" -c "import sqlmypy"
    "$py" -m pytest -o addopts="" -p no:cacheprovider -rs tests/test_neighbour_sqlmypy.py "$@"
done
