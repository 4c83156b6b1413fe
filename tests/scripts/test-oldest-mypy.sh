#!/usr/bin/env bash
# Runs the whole test suite against the oldest supported mypy (docs/compatibility.md),
# in its own virtual environment. Usage: tests/scripts/test-oldest-mypy.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/../.."
OLDEST_MYPY="1.11.2"
# SQLAlchemy 2.1 names an error code (untyped-decorator) that mypy 1.11 does not know.
OLDEST_SQLALCHEMY="sqlalchemy>=2.0,<2.1"
venv=".venv-oldest-mypy"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -e ".[test]" "mypy==$OLDEST_MYPY" "$OLDEST_SQLALCHEMY"
# Subprocess mode: mypy 1.x's sqlite cache and pytest-mypy-plugins' same-process mode
# trip over each other (KeyError: 'sqlite3.dbapi2'), which says nothing about the plugin.
"$venv/bin/python" -m pytest -o addopts="" -p no:cacheprovider -n auto \
    --mypy-ini-file=tests/mypy.ini "$@"
