"""PPO's learned residual on the trajectory-generator Minitaur walks further than the generator
alone (the issue's learning check), at the smallest budget found where it did on every seed.

Measured (2026-12-02, 500-step episodes, PPO below, 2 envs): final deterministic return minus
the zero residual's (1.131) after 6000 env steps: -0.085 / +0.111 / +0.089 on seeds 0 / 1 / 2
(and worse with init_log_std -1.0 or lr 3e-4: not reliable); after 12000: +0.125 / +0.141 /
+0.144. The margin asserted is half the smallest of those. ~70-110 s on 2 loaded cores, so
``slow``; the default suite runs the same runner, PPO and env paths on smaller budgets.
"""

from __future__ import annotations

import numpy as np
import pytest

from rl_control.envs.registration import make_env
from rl_control.training.config import TrainConfig
from rl_control.training.evaluation import EVAL_SEED_OFFSET
from rl_control.training.runner import Runner

ENV = {"max_steps": 500}
PPO = {"learning_rate": 1e-3, "n_steps": 500, "batch_size": 250, "n_epochs": 10, "gamma": 0.99,
       "gae_lambda": 0.95, "clip_range": 0.2, "init_log_std": -1.6}  # fmt: skip
MARGIN = 0.06


def _zero_residual_return(seed: int) -> float:
    env = make_env("minitaur_tg", **ENV)
    try:
        env.reset(seed=seed)
        total, done = 0.0, False
        while not done:
            _, reward, terminated, truncated, _ = env.step(np.zeros(8, np.float32))
            total, done = total + float(reward), terminated or truncated
        return total
    finally:
        env.close()


@pytest.mark.slow
def test_ppo_residual_beats_the_generator_alone(tmp_path):
    seed = 0
    config = TrainConfig(
        algo="ppo", task="minitaur_tg", env=ENV, num_envs=2, total_steps=12_000, seed=seed,
        algo_config=PPO, eval_every=3000, eval_episodes=1, checkpoint_every=0,
        run_dir=str(tmp_path / "run"), vector="async",
    )  # fmt: skip
    learned = Runner(config, tensorboard=False).train()["eval_return_mean"]
    zero = _zero_residual_return(seed + EVAL_SEED_OFFSET)
    assert learned > zero + MARGIN, f"learned {learned:.3f}, zero residual {zero:.3f}"
