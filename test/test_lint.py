"""The tree passes ruff (99 columns, as ament_flake8); ruff comes with the [test] extra."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff missing: pip install -e .[test]")
def test_ruff_check_passes() -> None:
    result = subprocess.run(
        ["ruff", "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
