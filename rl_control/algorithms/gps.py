"""Guided Policy Search (Levine & Koltun 2013; gps-trpo-ppo-lecture.txt, Algorithm 1).

Line 1: iLQR solutions π_G1..π_Gn (:mod:`rl_control.mpc.ilqr`) on the task's differentiable
model from ``num_guides`` starts drawn from the task's reset distribution. Everything else
runs on real env steps through the act → record → ready → update contract, one batch of
whole episodes per update, each episode drawn from one sampling distribution:
- batch 0: ``guiding_samples`` episodes from q = (1/n) Σ π_Gi (line 2, round-robin);
  update: θ* ← argmax Σ log π_θ(ζ_i) (line 3, full-batch Adam);
- batch 1: ``policy_samples`` episodes of π_θ* (line 4); update: iteration k (lines 6-7):
  S_k = the guiding samples, θ*'s and the last ``recent_policies`` policies' samples (at
  most ``max_samples``, newest first), θ_k ← argmax Φ_{S_k}(θ) from θ*;
- next batch: π_θk's samples (line 8; with ``adaptive_guiding`` also samples of iLQR re-run
  on r + log π_θk, line 9); update: values of θ_k and θ* by importance sampling on S_k
  (line 10); better → θ* ← θ_k, w_r ↓; else w_r ↑ and, with ``resample``, a batch of θ*'s
  samples first (lines 11-16). ``policy`` is always π_θ* (line 19).
The policy is the project's ``gaussian_mlp`` kind, so it deploys (and runs in policy_node)
like PPO's.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from rl_control.algorithms.base import Algorithm, seeded_init
from rl_control.algorithms.config import adam, require
from rl_control.algorithms.gps_objective import adapt_w_r, log_mixture_prefix, phi
from rl_control.algorithms.gps_samplers import (
    GuideSampler,
    PolicySampler,
    Sampler,
    TrajectoryStore,
    sampler_from_state,
)
from rl_control.algorithms.registry import register_algorithm
from rl_control.algorithms.spec import AlgorithmSpec
from rl_control.models.actor_critic import GaussianActorCritic
from rl_control.mpc.ilqr import ILQR, ILQRSettings, control_cost, task_model
from rl_control.mpc.observed_task import StateMap
from rl_control.policies.base import PolicyOutput


@dataclass
class GPSConfig:
    """Sample counts are episodes. Paper values where it gives them; others chosen here."""

    num_guides: int = 4  # n iLQR solutions
    guiding_samples: int = 20  # m episodes from q
    policy_samples: int = 4  # episodes per new policy (line 8) and per resampling (line 16)
    ilqr_iters: int = 50
    ilqr_tol: float = 1e-4
    ilqr_control_cost: float | None = None  # R‖u‖² in iLQR's cost; None: the task's default
    smoothing: float = 1e-3  # contact smoothing of an LCS model
    hidden: list[int] = field(default_factory=lambda: [64, 64])
    activation: str = "tanh"
    ml_steps: int = 300  # Adam steps of the maximum-likelihood fit (line 3)
    ml_lr: float = 3e-3
    phi_steps: int = 60  # Adam steps on −Φ per iteration (line 7; the paper uses LBFGS)
    phi_lr: float = 1e-3
    w_r: float = 1e-2
    w_r_min: float = 1e-6
    w_r_max: float = 10.0
    w_r_factor: float = 10.0
    max_samples: int = 60  # |S_k|
    recent_policies: int = 3
    weight_clip: float = 0.0  # > 0: truncate weights at clip × their median
    resample: bool = True  # line 16
    adaptive_guiding: bool = False  # line 9
    adaptive_weight: float = 1.0  # iLQR on r + adaptive_weight · log π_θ(u | x)
    adaptive_samples: int = 2  # episodes per adaptive guide

    def __post_init__(self) -> None:
        for name in ("num_guides", "guiding_samples", "policy_samples", "ilqr_iters",
                     "ml_steps", "max_samples"):  # fmt: skip
            require(getattr(self, name) >= 1, f"gps config {name} must be >= 1")
        require(
            self.phi_steps >= 0 and self.recent_policies >= 0 and self.adaptive_samples >= 0,
            "gps config phi_steps, recent_policies, adaptive_samples must be >= 0",
        )
        require(
            0 < self.w_r_min <= self.w_r <= self.w_r_max and self.w_r_factor > 1,
            "gps config needs 0 < w_r_min <= w_r <= w_r_max and w_r_factor > 1",
        )
        require(self.weight_clip >= 0, "gps config weight_clip must be >= 0")  # fmt: skip


class GPS(Algorithm):
    """Algorithm 1 of the lecture on the project's run contract."""

    name = "gps"
    on_policy = False
    config_cls = GPSConfig

    def __init__(self, spec: AlgorithmSpec, config: GPSConfig, policy: GaussianActorCritic,
                 seed: int = 0) -> None:  # fmt: skip
        task = spec.task
        if task is None:
            raise ValueError("gps needs a task with dynamics (a plain gymnasium env has none)")
        self.spec, self.config, self.task = spec, config, task
        # guides act on the task state: the observation mapped back (the 2R leg: time from
        # the phase, nearest the guide's nominal); raises when it cannot be
        state_map = StateMap(task)
        self.to_state = None if state_map.identity else state_map
        self.policy, self.work = policy, copy.deepcopy(policy)
        self.center = (np.asarray(spec.action_high) + np.asarray(spec.action_low)) / 2
        self.half = (np.asarray(spec.action_high) - np.asarray(spec.action_low)) / 2
        self.rng = np.random.default_rng(seed)
        self.store = TrajectoryStore(task.max_steps, spec.obs_dim, spec.act_dim)
        self.samplers: list[Sampler] = []
        self.w_r, self.best, self.best_value = config.w_r, -1, float("nan")
        self.phase, self.queue, self.pending = "guiding", [], 0
        self.iteration, self.counts = 0, {"degenerate_steps": 0, "dropped": 0, "nan_steps": 0}
        dynamics, reward = task_model(task, config.smoothing)
        settings = ILQRSettings(
            max_iter=config.ilqr_iters,
            tol=config.ilqr_tol,
            control_cost=control_cost(task, config.ilqr_control_cost),
        )
        self.ilqr = ILQR(dynamics, reward, task.action_low, task.action_high, settings)
        starts = [task.definition.sample_initial_state(self.rng, task.params)
                  for _ in range(config.num_guides)]  # fmt: skip
        self.guide_starts = np.array(starts)
        self.guide_ids = self._solve_guides(None)
        self.queue = [self.guide_ids[i % len(self.guide_ids)]
                      for i in range(config.guiding_samples)]  # fmt: skip
        self.pending = len(self.queue)
        self._env = [_EnvSlot() for _ in range(spec.num_envs)]

    @classmethod
    def build(cls, spec: AlgorithmSpec, config: Mapping[str, Any] | GPSConfig,
              seed: int = 0) -> GPS:  # fmt: skip
        cfg = cls.make_config(config)
        with seeded_init(seed):
            policy = GaussianActorCritic(spec.obs_dim, spec.act_dim, spec.action_low,
                                         spec.action_high, cfg.hidden, cfg.activation)  # fmt: skip
        policy.generator.manual_seed(seed)
        return cls(spec, cfg, policy, seed)

    # --- line 1 and 9: guiding distributions ----------------------------------------------
    def _solve_guides(self, policy: GaussianActorCritic | None) -> list[int]:
        """iLQR from every guide start (on r + w log π when ``policy``); new sampler ids."""
        solver, previous = self.ilqr, None
        if policy is not None:
            solver = copy.copy(self.ilqr)
            solver.r = self._adaptive_reward(policy)
        ids = []
        for i, x0 in enumerate(self.guide_starts):
            if policy is not None:
                init = self.samplers[self.guide_ids[i]].controller
            else:
                init = previous or np.zeros((self.task.max_steps, self.spec.act_dim))
            result = solver.solve(x0, init)
            previous = previous or result.controller
            self.samplers.append(
                GuideSampler(result.controller, self.center, self.half, self.to_state)
            )
            ids.append(len(self.samplers) - 1)
        return ids

    def _adaptive_reward(self, policy: GaussianActorCritic) -> Any:
        base, w = self.ilqr.r, self.config.adaptive_weight
        center, half = torch.as_tensor(self.center), torch.as_tensor(self.half)
        frozen = copy.deepcopy(policy).requires_grad_(False)

        observe = self.to_state is not None  # the policy sees observations, iLQR states

        def reward(x: torch.Tensor, u: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
            obs = self.task.observation(x) if observe else x
            dist = frozen.distribution(frozen.normalize_obs(obs.float()))
            logp = dist.log_prob(((u - center) / half).float()).double()
            return base(x, u, x2) + w * logp

        return reward

    # --- the run contract -----------------------------------------------------------------
    def act(self, obs: np.ndarray) -> PolicyOutput:
        obs = np.asarray(obs, dtype=np.float64)
        u = np.zeros((len(obs), self.spec.act_dim))
        mean = np.zeros_like(u)
        logp = np.zeros(len(obs))
        for e, slot in enumerate(self._env):
            if slot.source < 0:
                slot.planned = bool(self.queue)
                slot.source = self.queue.pop(0) if self.queue else self._default_source()
            s, t, x = self.samplers[slot.source], np.array([len(slot.rewards)]), obs[e : e + 1]
            u[e] = s.sample(t, x, self.rng)[0]
            mean[e], logp[e] = s.mean(t, x)[0], s.log_prob(t, x, u[e : e + 1])[0]
        self._last_u = u
        return PolicyOutput(self.center + self.half * u, self.center + self.half * mean, logp)

    def _default_source(self) -> int:
        return self.best if self.best >= 0 else self.guide_ids[0]

    def record(self, obs: np.ndarray, out: PolicyOutput, reward: np.ndarray,
               terminated: np.ndarray, truncated: np.ndarray,
               next_obs: np.ndarray) -> None:  # fmt: skip
        for e, slot in enumerate(self._env):
            slot.obs.append(np.asarray(obs[e], dtype=np.float64))
            slot.actions.append(self._last_u[e])
            slot.rewards.append(float(reward[e]))
            if terminated[e] or truncated[e] or len(slot.rewards) >= self.store.horizon:
                self.store.add(slot.obs, slot.actions, slot.rewards, slot.source)
                self.pending -= int(slot.planned)
                self._env[e] = _EnvSlot()

    def ready(self) -> bool:
        return self.pending <= 0 and not self.queue

    def _plan(self, sources: list[int]) -> None:
        self.queue, self.pending = list(sources), len(sources)

    def update(self) -> dict[str, float]:
        stats: dict[str, float] = {}
        if self.phase == "guiding":
            stats.update(self._fit_ml())
            self.best = self._snapshot(self.policy)
            self._plan([self.best] * self.config.policy_samples)
            self.phase = "initial"
        elif self.phase == "initial":
            stats.update(self._iterate())
        else:
            stats.update(self._evaluate())
        self.policy_version += 1
        stats.update(w_r=self.w_r, iteration=float(self.iteration), samples=float(len(self.store)))
        stats.update({k: float(v) for k, v in self.counts.items()})
        return stats

    # --- lines 3, 6-10 ----------------------------------------------------------------------
    def _fit_ml(self) -> dict[str, float]:
        data = self._tensors(np.arange(len(self.store)))
        valid = data["mask"]
        self.policy.obs_rms.update(data["obs"][valid])  # fixed from here on: snapshots agree
        opt = adam(self.policy.actor_parameters(), self.config.ml_lr)
        for _ in range(self.config.ml_steps):
            loss = -self._log_prob(self.policy, data)[valid].mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        self.work.load_state_dict(self.policy.state_dict())
        return {"ml_log_prob": -float(loss.detach())}

    def _select(self) -> np.ndarray:
        """S_k: guiding samples, θ*'s, then the newest policies' (newest first), capped."""
        sources = np.asarray(self.store.sources)
        guides = [i for i, s in enumerate(self.samplers) if s.kind == "guide"]
        recent = [j for j in range(len(self.samplers) - 1, -1, -1)
                  if self.samplers[j].kind == "policy" and j != self.best]  # fmt: skip
        order = [self.best, *recent[: self.config.recent_policies], *guides]
        chosen = [i for src in order for i in np.flatnonzero(sources == src)[::-1]]
        return np.sort(np.array(chosen[: self.config.max_samples]))

    def _tensors(self, idx: np.ndarray) -> dict[str, Any]:
        b = self.store.batch(idx)
        out: dict[str, Any] = {k: torch.as_tensor(v) for k, v in b.items() if k != "sources"}
        out["sources"] = b["sources"]
        return out

    def _log_prob(self, policy: GaussianActorCritic, data: dict[str, Any]) -> torch.Tensor:
        """log π_θ(u_t | x_t) [m, H] (zero on padding)."""
        nobs = policy.normalize_obs(data["obs"].float())
        logp = policy.distribution(nobs).log_prob(data["actions"].float()).double()
        return torch.where(data["mask"], logp, torch.zeros_like(logp))

    def _logq(self, data: dict[str, Any]) -> torch.Tensor:
        """log q(τ_{i,1:t}) over the fused mixture of the samplers in the set."""
        sources, counts = np.unique(data["sources"], return_counts=True)
        m, H = data["mask"].shape
        t = np.tile(np.arange(H), m)
        x, u = data["obs"].reshape(m * H, -1).numpy(), data["actions"].reshape(m * H, -1).numpy()
        comp = torch.stack([torch.as_tensor(self.samplers[s].log_prob(t, x, u)).reshape(m, H)
                            for s in sources])  # fmt: skip
        comp = torch.where(data["mask"], comp, torch.zeros_like(comp))
        return log_mixture_prefix(comp, torch.as_tensor(counts))

    def _phi(self, policy: GaussianActorCritic, data: dict[str, Any], logq: torch.Tensor,
             w_r: float) -> tuple[torch.Tensor, Any]:  # fmt: skip
        logp = self._log_prob(policy, data)
        out, stats = phi(logp, logq, data["rewards"], w_r, self.config.weight_clip)
        self.counts["degenerate_steps"] += stats.degenerate_steps
        self.counts["dropped"] += stats.dropped_samples
        return out, stats

    def _iterate(self) -> dict[str, float]:
        """Lines 6-9: choose S_k, θ_k ← argmax Φ from θ*, plan θ_k's samples."""
        self.iteration += 1
        data = self._tensors(self._select())
        logq = self._logq(data)
        work, best = self.work, self.samplers[self.best]
        work.load_state_dict(best.policy.state_dict())
        params = work.actor_parameters()
        opt = adam(params, self.config.phi_lr)
        stats = None
        for _ in range(self.config.phi_steps):
            objective, stats = self._phi(work, data, logq, self.w_r)
            if not torch.isfinite(objective):
                self.counts["nan_steps"] += 1
                break
            opt.zero_grad()
            (-objective).backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            grads_ok = all(torch.isfinite(p.grad).all() for p in params if p.grad is not None)
            if not grads_ok:
                self.counts["nan_steps"] += 1
                break
            opt.step()
        if not all(torch.isfinite(p).all() for p in params):  # never keep a NaN policy
            self.counts["nan_steps"] += 1
            work.load_state_dict(best.policy.state_dict())
        self.candidate = self._snapshot(work)
        plan = [self.candidate] * self.config.policy_samples
        if self.config.adaptive_guiding and self.config.adaptive_samples > 0:
            for g in self._solve_guides(work):
                plan += [g] * self.config.adaptive_samples
        self._plan(plan)
        self.phase = "evaluate"
        if stats is None:
            return {}
        return {"phi": float(objective.detach()), "min_ess": stats.min_ess,
                "degenerate_frac": stats.degenerate_steps / self.store.horizon}  # fmt: skip

    def _evaluate(self) -> dict[str, float]:
        """Lines 10-17 on S_k plus the new samples."""
        data = self._tensors(self._select_with(self.candidate))
        logq = self._logq(data)
        with torch.no_grad():
            _, new = self._phi(self.samplers[self.candidate].policy, data, logq, 0.0)
            _, old = self._phi(self.samplers[self.best].policy, data, logq, 0.0)
        improved = bool(np.isfinite(new.value) and not new.value <= old.value)
        self.w_r = adapt_w_r(self.w_r, improved, self.config.w_r_factor,
                             self.config.w_r_min, self.config.w_r_max)  # fmt: skip
        if improved:
            self.best = self.candidate
            self.policy.load_state_dict(self.samplers[self.best].policy.state_dict())
        self.best_value = new.value if improved else old.value
        if not improved and self.config.resample:
            self._plan([self.best] * self.config.policy_samples)
            self.phase = "initial"
            stats = {}
        else:
            stats = self._iterate()
        return {**stats, "value_new": new.value, "value_best": old.value,
                "improved": float(improved)}  # fmt: skip

    def _select_with(self, source: int) -> np.ndarray:
        """S_k with the samples of ``source`` added (line 8: appended to S_k and S)."""
        extra = np.flatnonzero(np.asarray(self.store.sources) == source)
        return np.union1d(self._select(), extra)

    def _snapshot(self, policy: GaussianActorCritic) -> int:
        self.samplers.append(PolicySampler(policy))
        return len(self.samplers) - 1

    # --- persistence ------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        keep = ("w_r", "best", "best_value", "phase", "queue", "pending", "iteration", "counts",
                "guide_ids", "guide_starts", "candidate", "policy_version")  # fmt: skip
        return copy.deepcopy({
            "algorithm": self.name, "config": dataclasses.asdict(self.config),
            "policy": self.policy.get_state(), "samplers": [s.state() for s in self.samplers],
            "store": self.store.state(), "rng": self.rng.bit_generator.state,
            "vars": {k: getattr(self, k) for k in keep if hasattr(self, k)},
        })  # fmt: skip

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("algorithm") != self.name:
            raise ValueError(f"state_dict is for {state.get('algorithm')!r}, not {self.name!r}")
        self.policy.set_state(state["policy"])
        self.samplers = [sampler_from_state(s, self.policy, self.center, self.half,
                                            self.to_state) for s in state["samplers"]]  # fmt: skip
        self.store.load(state["store"])
        self.rng.bit_generator.state = state["rng"]
        for key, value in state["vars"].items():
            setattr(self, key, copy.deepcopy(value))
        self._env = [_EnvSlot() for _ in range(self.spec.num_envs)]


@dataclass
class _EnvSlot:
    """The episode in flight in one env: its sampler and the steps so far."""

    source: int = -1
    planned: bool = False
    obs: list = field(default_factory=list)
    actions: list = field(default_factory=list)
    rewards: list = field(default_factory=list)


register_algorithm("gps", GPS.build, ("dynamics", "initial_state", "reward"))
