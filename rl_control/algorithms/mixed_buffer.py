"""A transition buffer that samples from two buffers by a fixed ratio (real and model data).

M-DeMoRL trains SAC on D_ENV ∪ D_MPC, MBPO on real and model rollouts: SAC sees one
:class:`~rl_control.algorithms.replay_buffer.TransitionBuffer`; recorded (real) transitions
go to the first buffer, imagined ones are added to the second by the algorithm.
"""

from __future__ import annotations

import numpy as np
import torch

from rl_control.algorithms.replay_buffer import ReplayBuffer


class MixedBuffer:
    """Batches of ``round(real_ratio · B)`` real and the rest model transitions.

    While the model buffer is empty every row is real. Its length is the real buffer's (what
    SAC's readiness is about).
    """

    def __init__(self, real: ReplayBuffer, model: ReplayBuffer, real_ratio: float) -> None:
        if not 0 <= real_ratio <= 1:
            raise ValueError(f"real_ratio must be in [0, 1], got {real_ratio}")
        self.real, self.model, self.real_ratio = real, model, float(real_ratio)

    def __len__(self) -> int:
        return len(self.real)

    def add(
        self,
        obs: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_obs: np.ndarray,
        terminated: np.ndarray,
    ) -> None:
        """Recorded transitions are real: they go to the real buffer."""
        self.real.add(obs, actions, rewards, next_obs, terminated)

    def sample(self, batch_size: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        if len(self.model) == 0:
            return self.real.sample(batch_size, generator)
        n_real = int(round(self.real_ratio * batch_size))
        parts = []
        if n_real > 0:
            parts.append(self.real.sample(n_real, generator))
        if batch_size - n_real > 0:
            parts.append(self.model.sample(batch_size - n_real, generator))
        return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}
