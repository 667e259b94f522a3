"""The benchmark result writer: a README-ready markdown table, written atomically."""

from pathlib import Path

import pytest
import results_table
import update_readme

BENCH = Path(results_table.__file__).parent


def _run() -> "results_table.RunInfo":
    return results_table.start_run(argv=[str(BENCH / "env_overhead.py"), "--steps", "10"])


def test_writes_title_command_table_and_machine_line(tmp_path: Path) -> None:
    path = results_table.write_markdown(
        "demo", "Demo bench", ["task", "rate", "target"], [["a|b", 12, "pass"]],
        ["a note"], run=_run(), out_dir=tmp_path,
    )  # fmt: skip
    assert path == tmp_path / "demo.md"
    lines = path.read_text().splitlines()
    assert lines[0] == "# Demo bench"
    assert lines[2] == "`python bench/env_overhead.py --steps 10`"
    table = ["| task | rate | target |", "| --- | --- | --- |", "| a\\|b | 12 | pass |"]
    assert lines[4:7] == table
    assert "- a note" in lines
    assert lines[-1].startswith("Machine: ") and "at start" in lines[-1] and "at end" in lines[-1]
    assert "ratios measured side by side" in lines[-1]
    assert [p.name for p in tmp_path.iterdir()] == ["demo.md"]  # no temporary file left


def test_update_readme_picks_the_file_up(tmp_path: Path) -> None:
    path = results_table.write_markdown("demo", "Demo", ["x"], [[1]], run=_run(), out_dir=tmp_path)
    readme = "<!-- results:demo -->\nold\n<!-- /results:demo -->\n"
    out = update_readme.fill(readme, {path.stem: path.read_text()})
    assert "| 1 |" in out and "old" not in out


@pytest.mark.parametrize(
    ("name", "title", "rows", "match"),
    [
        ("bad name", "T", [[1]], "name"),
        ("ok", "two\nlines", [[1]], "title"),
        ("ok", "T", [[1, 2]], "row 0 has 2 cells"),
        ("ok", "T", [], "rows is empty"),
    ],
)
def test_bad_input_is_rejected(
    tmp_path: Path, name: str, title: str, rows: list, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        results_table.write_markdown(name, title, ["x"], rows, run=_run(), out_dir=tmp_path)
    assert not any(tmp_path.iterdir())


def test_verdict() -> None:
    assert results_table.verdict(True) == "pass" and results_table.verdict(False) == "miss"
