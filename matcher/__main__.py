"""``python -m matcher``: the ``matcher`` command."""

from matcher.cli.main import run

run()
