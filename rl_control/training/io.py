"""Crash-safe file writes and the layout of a run folder.

Every file in a run folder is written to a temporary file in the same directory, flushed
to disk and then renamed over the target with :func:`os.replace`, which is atomic on POSIX
and Windows: a crash at any point leaves either the old file or the new one, never a mix.
"""

from __future__ import annotations

import io
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class YamlLoader(yaml.SafeLoader):
    """Safe YAML loader that reads ``3e-4`` as a float (YAML 1.1 would give a string)."""


# YAML 1.2's float pattern; PyYAML's 1.1 one needs a dot, so `lr: 3e-4` would be a str.
YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers only ever see the old or the new content."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp creates 0600; keep the old file's mode, else the usual 0644
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        # the target is untouched; only the temporary file has to go
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    """Persist the rename itself (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Atomic UTF-8 text write."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_save_torch(path: str | os.PathLike[str], obj: Any) -> None:
    """Atomic :func:`torch.save` (serialised in memory first, so a failure writes nothing)."""
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def atomic_write_yaml(path: str | os.PathLike[str], data: Any) -> None:
    """Atomic YAML write with keys in insertion order."""
    atomic_write_text(path, yaml.safe_dump(data, sort_keys=False, default_flow_style=False))


def atomic_write_json(path: str | os.PathLike[str], data: Any) -> None:
    """Atomic JSON write, indented for humans."""
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def read_yaml(path: str | os.PathLike[str]) -> Any:
    """Parse a YAML file; missing files and syntax errors become one-line ValueErrors."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"file not found: {path}")
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=YamlLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ValueError(f"malformed YAML in {path}{where}: {problem}") from None


@dataclass(frozen=True)
class RunPaths:
    """Where each artefact of a training run lives inside its run folder."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def checkpoint(self) -> Path:
        return self.root / "checkpoint.pt"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.csv"

    @property
    def tensorboard(self) -> Path:
        return self.root / "tensorboard"

    @property
    def curve(self) -> Path:
        return self.root / "learning_curve.png"
