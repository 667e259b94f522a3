"""The README's install commands: torch's CPU build on an ordinary machine, CI runs them."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CPU_INDEX = "--extra-index-url https://download.pytorch.org/whl/cpu"


def _readme_commands() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
    return [line for b in blocks for line in b.splitlines() if line.startswith("pip install")]


def test_readme_installs_torch_from_the_cpu_index_with_bounded_retries():
    commands = _readme_commands()
    assert len(commands) >= 2  # the main job and the test suite
    for command in commands:
        torch_step = command.split(" && ")[0]
        # PyPI's Linux torch is the CUDA build; an unreachable index must cost seconds only
        assert CPU_INDEX in torch_step and torch_step.endswith("torch==2.13.0"), command
        assert "--retries 1" in torch_step and "--timeout 10" in torch_step, command


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    test_command = next(c for c in _readme_commands() if "pytest" in c)
    assert ci[-1] == test_command
