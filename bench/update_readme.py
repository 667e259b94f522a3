"""Copy result tables written by the benchmark and experiment scripts into README.md.

Each script writes a markdown file, e.g. bench/results/env_overhead.md; the README holds
matching blocks ``<!-- results:env_overhead -->`` ... ``<!-- /results:env_overhead -->``.
Run ``python bench/update_readme.py`` after a benchmark; numbers are never typed by hand.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULT_DIRS = (ROOT / "bench" / "results", ROOT / "experiments" / "results")


def fill(readme: str, tables: dict[str, str]) -> str:
    """Replace every results block whose name has a table; leave the others untouched."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in tables:
            return match.group(0)
        return f"<!-- results:{name} -->\n{tables[name].strip()}\n<!-- /results:{name} -->"

    pattern = re.compile(r"<!-- results:([\w-]+) -->.*?<!-- /results:\1 -->", re.DOTALL)
    return pattern.sub(replace, readme)


def demote_headings(markdown: str, levels: int = 3) -> str:
    """Result files start with their own '# Title'; inside the README they sit under '###'."""
    deeper = "#" * levels
    return re.sub(r"^(#+) ", lambda m: f"{deeper}{m.group(1)} ", markdown, flags=re.M)


def main() -> int:
    tables = {
        path.stem: demote_headings(path.read_text())
        for folder in RESULT_DIRS
        if folder.is_dir()
        for path in sorted(folder.glob("*.md"))
    }
    readme_path = ROOT / "README.md"
    text = readme_path.read_text()
    updated = fill(text, tables)
    readme_path.write_text(updated)
    changed = [n for n in tables if f"<!-- results:{n} -->" in text]
    print(f"README.md: filled {len(changed)} result block(s): {', '.join(changed) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
