"""The README results filler replaces only named blocks."""

import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location(
    "update_readme", Path(__file__).resolve().parents[2] / "bench" / "update_readme.py"
)
update_readme = importlib.util.module_from_spec(spec)
spec.loader.exec_module(update_readme)


def test_fill_replaces_named_blocks_only() -> None:
    readme = (
        "a\n<!-- results:x -->\nold\n<!-- /results:x -->\n"
        "<!-- results:y -->\nkeep\n<!-- /results:y -->\n"
    )
    out = update_readme.fill(readme, {"x": "| new |\n"})
    assert "| new |" in out and "old" not in out and "keep" in out


def test_result_titles_become_subheadings() -> None:
    out = update_readme.demote_headings("# Title\n| a |\n## Sub\n")
    assert out == "#### Title\n| a |\n##### Sub\n"
