"""`python -m mypy_session`: the same as the `mypy-session` command."""

from mypy_session.cli import main

main()
