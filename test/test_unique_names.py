"""Test modules are imported by basename (rootdir mode, no packages): two files of one name
in different folders make the whole suite fail to collect, so names must be unique."""

from collections import Counter
from pathlib import Path

TEST_ROOT = Path(__file__).parent


def test_test_module_basenames_are_unique() -> None:
    names = Counter(p.name for p in TEST_ROOT.rglob("*.py") if p.name != "__init__.py")
    repeated = sorted(n for n, count in names.items() if count > 1 and n != "conftest.py")
    assert not repeated, f"test modules with the same name in several folders: {repeated}"
