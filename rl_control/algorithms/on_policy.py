"""The on-policy base shared by PPO and TRPO: recording, GAE, normalisation, value regression.

The acting policy (networks *and* observation normaliser) is frozen within a policy version:
observations are stored normalised with the statistics the actor used, new statistics are
accumulated aside and merged after the update. A remote policy node on version v and this
trainer therefore agree exactly on the log-probs of version v.
"""

from __future__ import annotations

import copy
import dataclasses
from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Self

import numpy as np
import torch
import torch.nn.functional as F

from rl_control.algorithms.base import Algorithm, seeded_init
from rl_control.algorithms.config import require
from rl_control.algorithms.spec import AlgorithmSpec, check_policy_dims
from rl_control.algorithms.storage import RolloutStorage, minibatches
from rl_control.models.actor_critic import GaussianActorCritic
from rl_control.policies.base import PolicyOutput

# policy-config keys that may differ between a warm-start source and its target
_WARM_START_FREE_KEYS = {"init_log_std", "ortho_init"}


@dataclass
class OnPolicyConfig:
    """Settings common to PPO and TRPO (SB3 defaults; ``n_steps`` is per env)."""

    learning_rate: float = 3e-4
    n_steps: int = 2048
    batch_size: int = 64
    gamma: float = 0.99
    gae_lambda: float = 0.95
    normalize_advantage: bool = True
    hidden: list[int] = field(default_factory=lambda: [64, 64])
    activation: str = "tanh"
    init_log_std: float = 0.0
    ortho_init: bool = True
    normalize_obs: bool = True

    def __post_init__(self) -> None:
        require(self.learning_rate > 0, f"learning_rate must be > 0, got {self.learning_rate}")
        require(self.n_steps > 0, f"n_steps must be > 0, got {self.n_steps}")
        require(self.batch_size > 0, f"batch_size must be > 0, got {self.batch_size}")
        require(0 <= self.gamma <= 1, f"gamma must be in [0, 1], got {self.gamma}")
        require(0 <= self.gae_lambda <= 1, f"gae_lambda must be in [0, 1], got {self.gae_lambda}")


def _batch(name: str, x: np.ndarray, n: int, dtype: type = np.float32) -> np.ndarray:
    arr = np.asarray(x, dtype=dtype)
    if arr.shape[:1] != (n,):
        raise ValueError(f"record(): {name} must have leading dimension {n}, got {arr.shape}")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError(f"record(): non-finite {name}")
    return arr


def _check_storage(storage: RolloutStorage, n_steps: int, spec: AlgorithmSpec) -> None:
    have = (storage.num_steps, storage.num_envs, storage.obs.shape[-1], storage.actions.shape[-1])
    want = (n_steps, spec.num_envs, spec.obs_dim, spec.act_dim)
    if have != want:
        raise ValueError(
            f"rollout storage is (n_steps, num_envs, obs_dim, act_dim)={have}, the algorithm "
            f"needs {want}"
        )


class OnPolicyAlgorithm(Algorithm):
    """Collects [n_steps, num_envs] rollouts via :meth:`record`; subclasses update the actor."""

    on_policy = True
    config: OnPolicyConfig

    def __init__(
        self,
        spec: AlgorithmSpec,
        config: OnPolicyConfig,
        policy: Any,
        storage: RolloutStorage,
        seed: int = 0,
    ) -> None:
        """Learn with ``policy`` from rollouts in ``storage``; see :meth:`build` for the parts.

        ``policy`` provides the on-policy API: ``distribution(nobs)`` (a
        :class:`~rl_control.models.distributions.DiagGaussian` in unit space), ``value``,
        ``actor_parameters``/``critic_parameters``, the observation normaliser and the
        action scaling of :class:`~rl_control.models.bounded_policy.BoundedPolicy`.
        """
        _check_storage(storage, config.n_steps, spec)
        check_policy_dims(policy, spec)
        self.spec, self.num_envs = spec, spec.num_envs
        self.config, self.seed = config, int(seed)
        self.policy = policy
        self.generator = torch.Generator().manual_seed(seed)
        self.policy.generator = self.generator
        self.storage = storage
        self._pending_obs: list[torch.Tensor] = []  # raw obs of the current rollout
        self.policy_version = 0
        self.dropped_stale_steps = 0
        self._build_optimizers()

    @classmethod
    def build(cls, spec: AlgorithmSpec, config: Mapping[str, Any] | Any, seed: int = 0) -> Self:
        """The policy of :meth:`make_policy` (built under ``seed``) and a fresh storage."""
        cfg = cls.make_config(config)
        with seeded_init(seed):
            policy = cls.make_policy(spec, cfg)
        storage = RolloutStorage(cfg.n_steps, spec.num_envs, spec.obs_dim, spec.act_dim)
        return cls(spec, cfg, policy, storage, seed)

    # --- subclass hooks ----------------------------------------------------------------
    @classmethod
    def make_policy(cls, spec: AlgorithmSpec, config: Any) -> Any:
        """The Gaussian actor-critic of ``config``; PPO-MPC overrides this."""
        low, high = list(spec.action_low), list(spec.action_high)
        return GaussianActorCritic(
            spec.obs_dim, spec.act_dim, low, high, hidden=config.hidden,
            activation=config.activation, init_log_std=config.init_log_std,
            normalize_obs=config.normalize_obs, ortho_init=config.ortho_init,
        )  # fmt: skip

    @abstractmethod
    def _build_optimizers(self) -> None:
        """Create ``self.optimizers`` (name -> torch optimiser)."""

    @abstractmethod
    def _update_policy(self, data: dict[str, torch.Tensor]) -> dict[str, float]:
        """One policy (and value) update from the flattened rollout ``data``."""

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`_extra_state` saved."""

    # --- Algorithm ----------------------------------------------------------------------
    def act(self, obs: np.ndarray) -> PolicyOutput:
        out = self.policy.act(obs, deterministic=False)
        out.info["policy_version"] = np.full(len(out.action), self.policy_version)
        return out

    @torch.no_grad()
    def record(
        self,
        obs: np.ndarray,
        out: PolicyOutput,
        reward: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
        next_obs: np.ndarray,
    ) -> None:
        version = out.info.get("policy_version")
        if version is not None and np.any(np.asarray(version) != self.policy_version):
            self.dropped_stale_steps += 1  # produced by an older policy: not on-policy data
            return
        # numpy for the per-step bookkeeping (torch dispatch costs more than these few values)
        n, policy = self.num_envs, self.policy
        obs_t = policy.obs_tensor(_batch("obs", obs, n))
        reward_a = _batch("reward", reward, n).reshape(n)
        term = _batch("terminated", terminated, n, bool).reshape(n)
        trunc = _batch("truncated", truncated, n, bool).reshape(n)
        action = _batch("action", out.action, n).reshape(n, -1)
        next_a = policy.obs_tensor(_batch("next_obs", next_obs, n)).numpy()
        nobs = policy.normalize_obs(obs_t)
        bootstrap = trunc & ~term
        if "value" in out.info:
            values = _batch("value", out.info["value"], n).reshape(n)
            if bootstrap.any():
                v_next = policy.value(policy.normalize_obs(torch.from_numpy(next_a))).numpy()
                reward_a = reward_a + self.config.gamma * v_next * bootstrap
        else:  # actions of a policy node come without values: batched in update(), where
            # the policy and the normaliser are still the ones of this rollout
            values = np.full(n, np.nan, np.float32)
            if bootstrap.any():
                self.storage.defer_bootstrap(bootstrap, next_a)
        unit_action = (action - policy.action_center.numpy()) / policy.action_half_range.numpy()
        self.storage.add(
            nobs.numpy(), unit_action, _batch("log_prob", out.log_prob, n).reshape(n),
            values, reward_a, term | trunc, next_a,
        )  # fmt: skip
        self._pending_obs.append(obs_t)  # merged into the normaliser after the update

    def ready(self) -> bool:
        return self.storage.full

    def records_until_ready(self) -> int:
        return max(0, self.storage.num_steps - self.storage.step)

    def update(self) -> dict[str, float]:
        if not self.ready():
            storage = self.storage
            raise RuntimeError(
                f"update() needs a full rollout: {storage.step}/{storage.num_steps} steps"
            )
        self.fill_deferred_values()
        with torch.no_grad():
            last_values = self.policy.value(self.policy.normalize_obs(self.storage.last_obs))
        self.storage.compute_returns(last_values, self.config.gamma, self.config.gae_lambda)
        data = self.storage.flat()
        if self.config.normalize_advantage and len(data["advantages"]) > 1:
            adv = data["advantages"]
            data["advantages"] = (adv - adv.mean()) / (adv.std() + 1e-8)
        stats = self._update_policy(data)
        with torch.no_grad():
            values = self.policy.value(data["obs"])
        var = data["returns"].var()
        stats["explained_variance"] = (1 - (data["returns"] - values).var() / var).item()
        stats["dropped_stale_steps"] = float(self.dropped_stale_steps)
        self._merge_pending_obs()
        self.storage.reset()
        self.policy_version += 1
        return stats

    @torch.no_grad()
    def fill_deferred_values(self) -> None:
        """V of the steps recorded without values (NaN), and the truncation bootstraps
        deferred with them, each in one forward over the rollout."""
        storage, policy = self.storage, self.policy
        missing = torch.isnan(storage.values)
        if missing.any():
            storage.values[missing] = policy.value(storage.obs[missing])  # stored normalised
        if storage.deferred_bootstraps:
            steps, envs, nxt = [], [], []
            for t, mask, next_obs in storage.deferred_bootstraps:
                idx = np.flatnonzero(mask)
                steps.append(np.full(len(idx), t))
                envs.append(idx)
                nxt.append(next_obs[idx])
            v_next = policy.value(policy.normalize_obs(torch.from_numpy(np.concatenate(nxt))))
            rows, cols = (torch.as_tensor(np.concatenate(x)) for x in (steps, envs))
            storage.rewards[rows, cols] += self.config.gamma * v_next
            storage.deferred_bootstraps = []

    # --- shared pieces --------------------------------------------------------------------
    def fit_value(
        self, data: dict[str, torch.Tensor], optimizer: torch.optim.Optimizer, epochs: int
    ) -> float:
        """Regress V(obs) on the GAE returns with minibatch MSE; returns the last loss."""
        loss = torch.zeros(())
        for _ in range(epochs):
            for mb in minibatches(data, self.config.batch_size, self.generator):
                loss = F.mse_loss(self.policy.value(mb["obs"]), mb["returns"])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        return loss.item()

    def _merge_pending_obs(self) -> None:
        if self._pending_obs and self.policy.normalize_obs_enabled:
            self.policy.obs_rms.update(torch.cat(self._pending_obs))
        self._pending_obs = []

    def warm_start_from(self, state: dict[str, Any]) -> None:
        """Start from the actor-critic and normaliser of another on-policy run's state_dict.

        Optimisers start fresh (moments of another rule or run do not apply); the version is
        bumped so actions of the previous parameters are dropped.
        """
        if "policy" not in state:
            raise ValueError("warm start needs an on-policy state_dict with a 'policy' entry")
        theirs, ours = state.get("policy_config", {}), self.policy.get_config()
        diff = sorted(
            k for k in ours if k not in _WARM_START_FREE_KEYS and k in theirs
            and theirs[k] != ours[k]
        )  # fmt: skip
        if diff:
            raise ValueError(f"warm start: policy config differs in {diff}")
        self.policy.set_state(state["policy"])
        self._build_optimizers()
        self._pending_obs = []
        self.storage.reset()
        self.policy_version += 1

    def state_dict(self) -> dict[str, Any]:
        # deep copy: torch optimisers share state tensors with the dicts they load/emit
        return copy.deepcopy(
            {
                "algorithm": self.name,
                "config": dataclasses.asdict(self.config),
                "policy_kind": self.policy.kind,
                "policy_config": self.policy.get_config(),
                "policy": self.policy.get_state(),
                "optimizers": {k: opt.state_dict() for k, opt in self.optimizers.items()},
                "policy_version": self.policy_version,
                "dropped_stale_steps": self.dropped_stale_steps,
                "generator": self.generator.get_state(),
                "extra": self._extra_state(),
            }
        )

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("algorithm") != self.name:
            raise ValueError(
                f"state_dict is for algorithm {state.get('algorithm')!r}, not {self.name!r}"
            )
        self.policy.set_state(state["policy"])
        for key, opt in self.optimizers.items():
            opt.load_state_dict(state["optimizers"][key])
        self._pending_obs = []
        self.policy_version = int(state["policy_version"])
        self.dropped_stale_steps = int(state.get("dropped_stale_steps", 0))
        self.generator.set_state(state["generator"])
        self._load_extra_state(state.get("extra", {}))
        self.storage.reset()
