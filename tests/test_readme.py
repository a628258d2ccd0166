"""The README's Python examples run as written (from the project's root)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), flags=re.S)


def test_there_are_examples() -> None:
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(code: str, capsys: pytest.CaptureFixture[str]) -> None:
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
    finally:
        os.chdir(cwd)
    assert capsys.readouterr().out.strip()  # every example prints something


def test_the_contract_is_in_the_repository() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "../shared/" not in readme and "(docs/SPEC.md)" in readme
    spec = (ROOT / "docs" / "SPEC.md").read_text(encoding="utf-8")
    assert "## Feasibility" in spec and "## v2 extensions" in spec and "rule 12" in spec.lower()
    assert "Apache License" in (ROOT / "LICENSE").read_text(encoding="utf-8")
