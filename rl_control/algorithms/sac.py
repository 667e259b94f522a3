"""Soft actor-critic (Haarnoja et al. 2018) with twin Q, Polyak targets, auto entropy tuning."""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from rl_control.algorithms.base import Algorithm, seeded_init
from rl_control.algorithms.config import adam, require
from rl_control.algorithms.replay_buffer import ReplayBuffer, TransitionBuffer
from rl_control.algorithms.spec import AlgorithmSpec, check_policy_dims
from rl_control.models.actor_critic import SquashedGaussianActor
from rl_control.models.q_networks import TwinQ
from rl_control.policies.base import PolicyOutput


@dataclass
class SACConfig:
    """SB3 SAC defaults. ``gradient_steps=-1`` means one per recorded transition (UTD 1)."""

    learning_rate: float = 3e-4
    buffer_size: int = 1_000_000
    learning_starts: int = 100
    batch_size: int = 256
    tau: float = 0.005
    gamma: float = 0.99
    train_freq: int = 1  # vectorised steps between updates
    gradient_steps: int = 1
    ent_coef: str | float = "auto"
    init_ent_coef: float = 1.0
    target_entropy: str | float = "auto"
    target_update_interval: int = 1
    hidden: list[int] = field(default_factory=lambda: [256, 256])
    activation: str = "relu"
    normalize_obs: bool = False

    def __post_init__(self) -> None:
        require(self.learning_rate > 0, f"learning_rate must be > 0, got {self.learning_rate}")
        require(self.buffer_size > 0, f"buffer_size must be > 0, got {self.buffer_size}")
        require(self.batch_size > 0, f"batch_size must be > 0, got {self.batch_size}")
        require(0 < self.tau <= 1, f"tau must be in (0, 1], got {self.tau}")
        require(self.train_freq > 0, f"train_freq must be > 0, got {self.train_freq}")
        require(self.gradient_steps != 0, "gradient_steps must be positive or -1")
        for key in ("ent_coef", "target_entropy"):
            value = getattr(self, key)
            if value != "auto":
                try:
                    setattr(self, key, float(value))
                except (TypeError, ValueError):
                    raise ValueError(f"{key} must be 'auto' or a number, got {value!r}") from None


def soft_q_target(
    rewards: torch.Tensor,
    terminated: torch.Tensor,
    next_q1: torch.Tensor,
    next_q2: torch.Tensor,
    next_log_prob: torch.Tensor,
    alpha: torch.Tensor | float,
    gamma: float,
) -> torch.Tensor:
    """y = r + gamma (1 - terminated) (min(Q1', Q2') - alpha log pi(a'|s'))."""
    soft_value = torch.minimum(next_q1, next_q2) - alpha * next_log_prob
    return rewards + gamma * (1.0 - terminated) * soft_value


_STAT_KEYS = ("critic_loss", "actor_loss", "alpha", "alpha_loss", "entropy", "q")


class SAC(Algorithm):
    """Off-policy: every recorded transition is kept regardless of the policy version."""

    name = "sac"
    config_cls = SACConfig
    on_policy = False

    def __init__(
        self,
        spec: AlgorithmSpec,
        config: SACConfig,
        policy: SquashedGaussianActor,
        critic: TwinQ,
        seed: int = 0,
        buffer: TransitionBuffer | None = None,
    ) -> None:
        """Learn ``policy`` and ``critic`` from ``buffer`` (a fresh ReplayBuffer if None).

        An outside buffer may be shared or mixed (e.g. M-DeMoRL's two sources): SAC adds
        the transitions it records to it and samples every batch from it.
        """
        check_policy_dims(policy, spec)
        self.spec, self.num_envs = spec, spec.num_envs
        self.config = config
        act_dim = spec.act_dim
        self.policy, self.critic = policy, critic
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        self.generator = torch.Generator().manual_seed(seed)
        self.policy.generator = self.generator
        if buffer is None:
            buffer = ReplayBuffer(config.buffer_size, spec.obs_dim, act_dim)
        self.buffer = buffer
        self.target_entropy = (
            -float(act_dim) if config.target_entropy == "auto" else float(config.target_entropy)
        )
        self.auto_alpha = config.ent_coef == "auto"
        init_alpha = config.init_ent_coef if self.auto_alpha else float(config.ent_coef)
        self.log_alpha = torch.tensor(math.log(init_alpha), requires_grad=self.auto_alpha)
        lr = config.learning_rate
        self.optimizers = {
            "actor": adam(self.policy.parameters(), lr),
            "critic": adam(self.critic.parameters(), lr),
        }
        if self.auto_alpha:
            self.optimizers["alpha"] = adam([self.log_alpha], lr)
        self._critic_params = list(self.critic.parameters())
        self._target_params = list(self.critic_target.parameters())
        self.policy_version = 0
        self.num_timesteps = 0  # transitions recorded
        self._steps_since_update = 0  # vectorised steps
        self._transitions_since_update = 0
        self._gradient_updates = 0

    @classmethod
    def build(
        cls,
        spec: AlgorithmSpec,
        config: Mapping[str, Any] | SACConfig,
        seed: int = 0,
        buffer: TransitionBuffer | None = None,
    ) -> SAC:
        """Actor then twin critic, both under ``seed``; ``buffer`` as in :meth:`__init__`."""
        cfg = cls.make_config(config)
        with seeded_init(seed):
            policy = SquashedGaussianActor(
                spec.obs_dim, spec.act_dim, list(spec.action_low), list(spec.action_high),
                cfg.hidden, cfg.activation, cfg.normalize_obs,
            )  # fmt: skip
            critic = TwinQ(spec.obs_dim, spec.act_dim, cfg.hidden, cfg.activation)
        return cls(spec, cfg, policy, critic, seed, buffer)

    # --- Algorithm ----------------------------------------------------------------------
    @property
    def uniform_exploration(self) -> bool:
        return self.num_timesteps < self.config.learning_starts

    def act(self, obs: np.ndarray) -> PolicyOutput:
        if not self.uniform_exploration:
            return self.policy.act(obs, deterministic=False)
        n = self.policy.obs_tensor(obs).shape[0]  # validates obs
        return self.policy.uniform_act(n)

    def record(
        self,
        obs: np.ndarray,
        out: PolicyOutput,
        reward: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
        next_obs: np.ndarray,
    ) -> None:
        n = self.num_envs
        obs_t = self.policy.obs_tensor(np.asarray(obs))
        next_t = self.policy.obs_tensor(np.asarray(next_obs))
        reward = np.asarray(reward, dtype=np.float32).reshape(-1)
        action = torch.as_tensor(np.asarray(out.action, dtype=np.float32)).reshape(n, -1)
        if len(obs_t) != n or len(next_t) != n or len(reward) != n:
            raise ValueError(f"record(): expected batches of {n} envs")
        if not np.all(np.isfinite(reward)) or not torch.isfinite(action).all():
            raise ValueError("record(): non-finite reward or action")
        # the env clips actions to its bounds, so learn from the action actually applied
        u = self.policy.to_unit(action).clamp(-1.0, 1.0)
        term = np.asarray(terminated, dtype=np.float32).reshape(n)
        self.buffer.add(obs_t.numpy(), u.numpy(), reward, next_t.numpy(), term)
        if self.policy.normalize_obs_enabled:
            self.policy.obs_rms.update(obs_t)
        self.num_timesteps += n
        self._steps_since_update += 1
        self._transitions_since_update += n

    def ready(self) -> bool:
        cfg = self.config
        return (
            self.num_timesteps >= cfg.learning_starts
            and len(self.buffer) > 0
            and self._steps_since_update >= cfg.train_freq
        )

    def update(self) -> dict[str, float]:
        if not self.ready():
            raise RuntimeError("update() called before SAC is ready (learning_starts/train_freq)")
        cfg = self.config
        steps = cfg.gradient_steps if cfg.gradient_steps > 0 else self._transitions_since_update
        sums = torch.zeros(len(_STAT_KEYS))
        for _ in range(steps):
            sums += self._gradient_step()
        self._steps_since_update = self._transitions_since_update = 0
        self.policy_version += 1
        return dict(zip(_STAT_KEYS, (sums / steps).tolist(), strict=True))

    # --- learning -------------------------------------------------------------------------
    def _norm(self, obs: torch.Tensor) -> torch.Tensor:
        return self.policy.normalize_obs(obs)

    def gradient_step(self) -> dict[str, float]:
        """One critic, actor and temperature update on a sampled batch; then Polyak targets."""
        return dict(zip(_STAT_KEYS, self._gradient_step().tolist(), strict=True))

    def _gradient_step(self) -> torch.Tensor:
        """:meth:`gradient_step`, its statistics as one tensor (in ``_STAT_KEYS`` order)."""
        cfg = self.config
        batch = self.buffer.sample(cfg.batch_size, self.generator)
        obs, next_obs = self._norm(batch["obs"]), self._norm(batch["next_obs"])
        u_new, log_prob = self.policy.sample(obs)
        alpha_loss = torch.zeros(())
        if self.auto_alpha:
            # loss −log α · mean(log π + H̄): its gradient in closed form, no autograd pass
            grad = -(log_prob.detach() + self.target_entropy).mean()
            alpha_loss = self.log_alpha.detach() * grad
            self.log_alpha.grad = grad
            self.optimizers["alpha"].step()
        alpha = self.log_alpha.detach().exp()
        with torch.no_grad():
            next_u, next_log_prob = self.policy.sample(next_obs)
            q1_t, q2_t = self.critic_target(next_obs, next_u)
            target = soft_q_target(
                batch["rewards"], batch["terminated"], q1_t, q2_t, next_log_prob, alpha, cfg.gamma
            )
        q1, q2 = self.critic(obs, batch["actions"])
        critic_loss = 0.5 * ((q1 - target).square().mean() + (q2 - target).square().mean())
        self.optimizers["critic"].zero_grad()
        critic_loss.backward()
        self.optimizers["critic"].step()
        # actor: gradients flow through the critic to the action only; the critic's weight
        # gradients would be discarded (zeroed before its next step), so they are not formed
        for p in self._critic_params:
            p.requires_grad_(False)
        try:
            actor_loss = (alpha * log_prob - self.critic.min_q(obs, u_new)).mean()
            self.optimizers["actor"].zero_grad()
            actor_loss.backward()
        finally:
            for p in self._critic_params:
                p.requires_grad_(True)
        self.optimizers["actor"].step()
        self._gradient_updates += 1
        if self._gradient_updates % cfg.target_update_interval == 0:
            with torch.no_grad():  # Polyak averaging, one kernel over all parameters
                torch._foreach_lerp_(self._target_params, self._critic_params, cfg.tau)
        with torch.no_grad():
            return torch.stack([
                critic_loss, actor_loss, alpha, alpha_loss, -log_prob.mean(), q1.mean()
            ])  # fmt: skip

    # --- persistence ----------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything but the replay buffer (it refills after ``learning_starts``)."""
        # deep copy: torch optimisers share state tensors with the dicts they load/emit
        return copy.deepcopy(
            {
                "algorithm": self.name,
                "config": dataclasses.asdict(self.config),
                "policy_kind": self.policy.kind,
                "policy_config": self.policy.get_config(),
                "policy": self.policy.get_state(),
                "critic": self.critic.state_dict(),
                "critic_target": self.critic_target.state_dict(),
                "log_alpha": self.log_alpha.detach().clone(),
                "optimizers": {k: opt.state_dict() for k, opt in self.optimizers.items()},
                "policy_version": self.policy_version,
                "num_timesteps": self.num_timesteps,
                "gradient_updates": self._gradient_updates,
                "generator": self.generator.get_state(),
            }
        )

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("algorithm") != self.name:
            raise ValueError(
                f"state_dict is for algorithm {state.get('algorithm')!r}, not {self.name!r}"
            )
        self.policy.set_state(state["policy"])
        self.critic.load_state_dict(state["critic"])
        self.critic_target.load_state_dict(state["critic_target"])
        with torch.no_grad():
            self.log_alpha.copy_(state["log_alpha"])
        for key, opt in self.optimizers.items():
            opt.load_state_dict(state["optimizers"][key])
        self.policy_version = int(state["policy_version"])
        self.num_timesteps = int(state["num_timesteps"])
        self._gradient_updates = int(state["gradient_updates"])
        self.generator.set_state(state["generator"])
