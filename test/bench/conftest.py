"""bench/ on the import path: the bench scripts import each other by module name (as when
run as ``python bench/<script>.py``), and their tests import them the same way."""

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))
