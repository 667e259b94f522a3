"""The README results filler replaces only named blocks; the README holds the files."""

import re

import update_readme


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


def test_every_readme_results_block_is_its_result_file() -> None:
    readme = (update_readme.ROOT / "README.md").read_text()
    blocks = re.findall(r"<!-- results:([\w-]+) -->\n(.*?)\n<!-- /results:\1 -->", readme, re.S)
    assert blocks, "the README has no generated results blocks"
    files = {p.stem: p for d in update_readme.RESULT_DIRS for p in d.glob("*.md")}
    for name, body in blocks:
        assert name in files, f"README block {name!r} has no results file"
        expected = update_readme.demote_headings(files[name].read_text()).strip()
        assert body == expected, f"README block {name!r} differs from {files[name]}"
