"""Checkpoints: one file holding a policy that deploys on its own and a resumable learner.

File: one header line ``rl_control checkpoint sha256 <hex digest>`` followed by the
:func:`torch.save` bytes of a plain dict; the digest covers those bytes, so a flipped or cut
file is refused on load with one line instead of loading wrong weights. The dict::

    format, format_version
    algo, algo_config, task, env       what produced it (rebuild the learner / the env)
    policy: {kind, config, state}      enough for :func:`load_policy`, no algorithm needed
    algorithm_state                    Algorithm.state_dict(), for resume and warm start
    env_steps, episodes, updates, wall_time, rng, ... (caller's ``meta``)

Checkpoints are pickles: load only files you trust.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from rl_control.algorithms.base import Algorithm
from rl_control.policies.base import Policy
from rl_control.policies.onnx_policy import OnnxPolicy, read_sidecar
from rl_control.policies.registry import build_policy
from rl_control.training.io import RunPaths, atomic_write_bytes

FORMAT = "rl_control.checkpoint"
FORMAT_VERSION = 2  # 2: checksummed header (1 had none)
#: first bytes of every checkpoint file; the 64 hex digits of the SHA-256 and a newline follow
MAGIC = b"rl_control checkpoint sha256 "
_HEADER = len(MAGIC) + 64 + 1
#: keys :func:`save_checkpoint` fills itself; ``meta`` may not override them
_RESERVED = ("format", "format_version", "algo", "policy", "algorithm_state")


def resolve_checkpoint(path: str | os.PathLike[str]) -> Path:
    """Accept a run folder or a checkpoint file; raise a one-line error if neither exists."""
    path = Path(path)
    if path.is_dir():
        path = RunPaths(path).checkpoint
        if not path.is_file():
            raise ValueError(f"no checkpoint in run folder {path.parent} (expected {path.name})")
    elif not path.is_file():
        raise ValueError(f"checkpoint or run folder not found: {path}")
    return path


def policy_record(policy: Policy) -> dict[str, Any]:
    """The ``{kind, config, state}`` triple that rebuilds ``policy`` with :func:`build_policy`."""
    if not policy.kind:
        raise ValueError(f"{type(policy).__name__} has no registered kind; cannot checkpoint it")
    return {"kind": policy.kind, "config": policy.get_config(), "state": policy.get_state()}


def save_checkpoint(
    path: str | os.PathLike[str], algorithm: Algorithm, meta: dict[str, Any]
) -> dict[str, Any]:
    """Atomically write ``algorithm`` plus ``meta`` (task, env, counters, RNG) to ``path``."""
    clash = sorted(set(meta) & set(_RESERVED))
    if clash:
        raise ValueError(f"checkpoint meta may not set reserved key(s): {', '.join(clash)}")
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "algo": algorithm.name,
        **meta,
        "policy": policy_record(algorithm.policy),
        "algorithm_state": algorithm.state_dict(),
    }
    atomic_write_bytes(path, encode_checkpoint(payload))
    return payload


def encode_checkpoint(payload: dict[str, Any]) -> bytes:
    """The file content for ``payload``: checksum header, then the torch.save bytes."""
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    body = buffer.getvalue()
    return MAGIC + hashlib.sha256(body).hexdigest().encode("ascii") + b"\n" + body


def _read_body(file: Path) -> bytes:
    """The torch.save bytes of ``file`` after checking its header and checksum."""
    try:
        raw = file.read_bytes()
    except OSError as err:
        raise ValueError(f"cannot read checkpoint {file}: {err.strerror}") from None
    if not raw.startswith(MAGIC):
        if raw.startswith(b"PK"):  # a bare torch.save zip: an old rl_control file or foreign
            raise ValueError(
                f"{file} is not an rl_control checkpoint of format version {FORMAT_VERSION} "
                f"(no checksum header; version 1 files and plain torch files are not read)"
            )
        raise ValueError(f"corrupt checkpoint {file}: no checkpoint header")
    digest, body = raw[len(MAGIC) : _HEADER - 1], raw[_HEADER:]
    if raw[_HEADER - 1 : _HEADER] != b"\n" or hashlib.sha256(body).hexdigest().encode() != digest:
        raise ValueError(f"corrupt checkpoint {file}: checksum mismatch (damaged or truncated)")
    return body


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint (file or run folder); missing/corrupt/foreign files raise ValueError."""
    file = resolve_checkpoint(path)
    body = _read_body(file)
    try:
        # weights_only=False: checkpoints also hold numpy RNG states and optimiser dicts
        data = torch.load(io.BytesIO(body), map_location="cpu", weights_only=False)
    except (pickle.UnpicklingError, zipfile.BadZipFile, EOFError, RuntimeError, OSError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ValueError(f"corrupt checkpoint {file}: {reason}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{file} is not an rl_control checkpoint")
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(
            f"checkpoint {file} has format version {version}; this rl_control reads "
            f"{FORMAT_VERSION}"
        )
    return data


def policy_from_record(record: dict[str, Any]) -> Policy:
    """Rebuild a policy from a ``{kind, config, state}`` record."""
    try:
        policy = build_policy(record["kind"], record["config"])
    except KeyError as err:
        raise ValueError(f"policy record lacks {err}") from None
    except TypeError as err:
        raise ValueError(f"policy config does not fit kind {record['kind']!r}: {err}") from None
    policy.set_state(record["state"])
    if isinstance(policy, torch.nn.Module):
        policy.eval()
    return policy


def is_onnx(path: str | os.PathLike[str]) -> bool:
    """True for an exported ``.onnx`` policy file (see ``rl-control export``)."""
    return Path(path).suffix.lower() == ".onnx"


def load_policy(path: str | os.PathLike[str]) -> Policy:
    """The deployable policy of a checkpoint, run folder or exported ``.onnx`` file, without
    building any learner."""
    if is_onnx(path):
        return OnnxPolicy(str(path))
    return policy_from_record(load_checkpoint(path)["policy"])


def load_deployment(path: str | os.PathLike[str]) -> tuple[Policy, str, dict[str, Any] | None]:
    """:func:`load_policy` plus the task (name, parameters) the policy was trained on."""
    if is_onnx(path):
        policy = OnnxPolicy(str(path))
        return policy, policy.task, policy.task_params
    record = load_checkpoint(path)
    return policy_from_record(record["policy"]), record.get("task", ""), record.get("env")


def deployment_task(path: str | os.PathLike[str]) -> tuple[str, dict[str, Any]]:
    """The task (name, ``env`` settings) a checkpoint, run folder or ``.onnx`` policy was
    trained on, without building the policy; ("", {}) where none is recorded."""
    if is_onnx(path):
        facts = read_sidecar(Path(path))
        return str(facts.get("task") or ""), dict(facts.get("task_params") or {})
    record = load_checkpoint(path)
    return str(record.get("task") or ""), dict(record.get("env") or {})
