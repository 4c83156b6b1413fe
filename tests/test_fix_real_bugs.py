"""`mypy-session fix` on a real session bug at the code before its fix, compared with the
fix its maintainers made (tests/data/fix_airflow_upgradedb/README.md): Airflow 2.3.0's
`upgradedb()` did not pass its session to two `@provide_session` helpers; 2.4.0 does."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.helpers import run
from tests.test_fix_command import cli, errors, sources

FIXTURE = Path(__file__).resolve().parent / "data" / "fix_airflow_upgradedb"

# What airflow/utils/db.py of apache-airflow 2.4.0 has in place of the two calls.
MAINTAINERS = [
    "    add_default_pool_if_not_exists(session=session)\n",
    "    synchronize_log_template(session=session)\n",
]


def test_upgradedb_is_fixed_as_the_maintainers_did(tmp_path: Path) -> None:
    root = tmp_path / "project"
    shutil.copytree(FIXTURE, root)
    before = errors(run(root, "--no-incremental", "airflow"))
    result = cli(root, "fix", "airflow")
    assert result.stdout.strip().splitlines()[-1] == (
        "fixed 2 of 3 findings in 1 file; 1 more with --unsafe-fixes"
    )
    text = (root / "airflow" / "utils" / "db.py").read_text()
    assert text.endswith('        log.info("Creating tables")\n' + "".join(MAINTAINERS))
    for name, source in sources(root).items():
        compile(source, name, "exec", dont_inherit=True)
    after = errors(run(root, "--no-incremental", "airflow"))
    assert not (after - before)
    assert sorted(code for _, code, _ in (before - after).elements()) == ["session-not-forwarded"] * 2
    fixed = sources(root)
    cli(root, "fix", "airflow")
    assert sources(root) == fixed
