"""Recorded episodes of legged robots: walking metrics, a GIF, a gait (foot-contact) diagram.

:func:`rollout` runs one deterministic episode and keeps what a person looks at: the base
path, per-step mechanical power, foot contacts (envs with ``foot_contacts()``) and, when
asked, frames from PyBullet's software renderer (``ER_TINY_RENDERER``: headless, no GPU or
display). :func:`walk_metrics` turns a trace into forward distance, speed and cost of
transport; :func:`save_gif` and :func:`save_gait_diagram` write the pictures atomically.
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import gymnasium as gym
import numpy as np

from rl_control.policies.base import Policy

GRAVITY = 9.8
#: frames per second of recorded GIFs (every 5th control step of a 100 Hz task)
GIF_FPS = 20.0


@dataclass
class EpisodeTrace:
    """One episode: base positions [T+1, 3], power [T] (W), contacts [T, legs], frames."""

    dt: float
    mass: float
    positions: np.ndarray
    power: np.ndarray
    contacts: np.ndarray
    frames: list[np.ndarray] = field(default_factory=list)
    leg_names: tuple[str, ...] = ()

    @property
    def steps(self) -> int:
        return len(self.power)


def render_frame(env: gym.Env, width: int = 320, height: int = 240) -> np.ndarray:
    """An RGB frame [height, width, 3] of the env's robot, the camera following its base."""
    from rl_control.envs.bullet import pybullet

    cid, body = env.unwrapped.physics_handles()
    target, _ = pybullet.getBasePositionAndOrientation(body, physicsClientId=cid)
    view = pybullet.computeViewMatrixFromYawPitchRoll(
        target, distance=0.9, yaw=30.0, pitch=-25.0, roll=0.0, upAxisIndex=2
    )
    proj = pybullet.computeProjectionMatrixFOV(60.0, width / height, 0.05, 10.0)
    _, _, rgba, _, _ = pybullet.getCameraImage(
        width, height, view, proj, renderer=pybullet.ER_TINY_RENDERER, physicsClientId=cid
    )
    return np.asarray(rgba, dtype=np.uint8).reshape(height, width, 4)[..., :3].copy()


def rollout(
    policy: Policy,
    env: gym.Env,
    seed: int,
    frame_every: int = 0,
    size: tuple[int, int] = (320, 240),
    frame_steps: int | None = None,
) -> EpisodeTrace:
    """One deterministic episode from ``env.reset(seed=seed)``; a frame every ``frame_every``
    control steps (0: none) during the first ``frame_steps`` steps (None: all). The env must
    report ``info["base_position"]``."""
    unwrapped = env.unwrapped
    contacts_of = getattr(unwrapped, "foot_contacts", None)
    obs, info = env.reset(seed=seed)
    policy.reset()
    positions, power, contacts, frames = [np.asarray(info["base_position"])], [], [], []
    mass = float(unwrapped.total_mass()) if hasattr(unwrapped, "total_mass") else math.nan
    done, step = False, 0
    while not done:
        filming = frame_every and (frame_steps is None or step < frame_steps)
        if filming and step % frame_every == 0:
            frames.append(render_frame(env, *size))
        action = policy.act(np.asarray(obs, dtype=np.float64)[None], deterministic=True).mean[0]
        action = np.clip(action, env.action_space.low, env.action_space.high)
        obs, _, terminated, truncated, info = env.step(action.astype(env.action_space.dtype))
        positions.append(np.asarray(info["base_position"]))
        power.append(float(info.get("mechanical_power", math.nan)))
        if contacts_of is not None:
            contacts.append(np.asarray(contacts_of(), dtype=bool))
        done, step = terminated or truncated, step + 1
    legs = tuple(getattr(unwrapped, "leg_names", lambda: ())())
    return EpisodeTrace(
        float(getattr(unwrapped.params, "control_dt", math.nan)), mass,
        np.stack(positions), np.asarray(power), np.asarray(contacts, dtype=bool).reshape(step, -1),
        frames, legs,
    )  # fmt: skip


def walk_metrics(trace: EpisodeTrace) -> dict[str, float]:
    """Forward distance (m, along x), mean forward speed (m/s), duration (s), energy (J:
    Σ |τ·q̇| Δt) and cost of transport E / (m g d) (NaN unless the base moved forward)."""
    distance = float(trace.positions[-1, 0] - trace.positions[0, 0])
    duration = trace.steps * trace.dt
    energy = float(np.sum(trace.power) * trace.dt)
    cot = energy / (trace.mass * GRAVITY * distance) if distance > 0 else math.nan
    return {
        "distance": distance,
        "speed": distance / duration if duration > 0 else math.nan,
        "duration": duration,
        "energy": energy,
        "cost_of_transport": cot,
        "lateral_drift": float(abs(trace.positions[-1, 1] - trace.positions[0, 1])),
    }


def _atomic(path: str | os.PathLike[str], write: object) -> Path:
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"folder of {path} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        write(tmp)  # type: ignore[operator]
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save_gif(frames: list[np.ndarray], path: str | os.PathLike[str], fps: float) -> Path:
    """Frames as a looping GIF at ``fps`` frames per second."""
    from PIL import Image

    if not frames:
        raise ValueError("save_gif: no frames (record with frame_every > 0)")
    images = [Image.fromarray(f) for f in frames]
    duration = max(int(round(1000 / fps)), 20)  # GIF timing is in 10 ms units, >= 20 ms

    def write(tmp: str) -> None:
        images[0].save(
            tmp, format="GIF", save_all=True, append_images=images[1:], duration=duration, loop=0
        )

    return _atomic(path, write)


def save_gait_diagram(
    trace: EpisodeTrace, path: str | os.PathLike[str], seconds: float = 3.0, title: str = ""
) -> Path:
    """Foot-contact diagram: one row per leg, a bar wherever the foot touches the floor,
    over the episode's first ``seconds``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if trace.contacts.size == 0:
        raise ValueError("save_gait_diagram: the env reported no foot contacts")
    n = min(trace.steps, max(int(round(seconds / trace.dt)), 1))
    contacts = trace.contacts[:n]
    legs = trace.leg_names or tuple(f"leg {i}" for i in range(contacts.shape[1]))
    fig, ax = plt.subplots(figsize=(8, 0.5 + 0.45 * len(legs)))
    for row, leg in enumerate(contacts.T):
        edges = np.flatnonzero(np.diff(np.concatenate([[0], leg.astype(int), [0]])))
        starts, stops = edges[::2], edges[1::2]
        bars = [(a * trace.dt, (b - a) * trace.dt) for a, b in zip(starts, stops, strict=True)]
        ax.broken_barh(bars, (row - 0.35, 0.7), color="0.2")
    ax.set_yticks(range(len(legs)), [leg.replace("_", " ") for leg in legs])
    ax.set_ylim(-0.6, len(legs) - 0.4)
    ax.invert_yaxis()
    ax.set_xlim(0, n * trace.dt)
    ax.set_xlabel("time (s)")
    ax.set_title(title or "foot contacts (dark: on the ground)")
    fig.tight_layout()
    try:
        return _atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    finally:
        plt.close(fig)
