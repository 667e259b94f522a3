"""iLQR as a receding-horizon controller (policy kind ``ilqr_mpc``) on a task's own model.

Every ``replan`` steps iLQR is re-solved over ``horizon`` steps from the observed state,
warm-started from the previous plan shifted in time (its closed-loop rollout), for at most
``iterations`` iterations; between re-plans the plan's feedback law g(x_t) = ū_t + k_t +
K_t (x_t − x̄_t) acts. iLQR's cost gets the control cost R‖u‖² ``control_cost`` (None: the
task's default, :func:`~rl_control.mpc.ilqr.control_cost`). Needs a task with dynamics whose
observation determines its state (:class:`~rl_control.mpc.observed_task.StateMap`: the 2R
leg's time from its phase, kept continuous with the plan's); one env at a time (the plan is
per episode: :meth:`reset` between episodes).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rl_control.mpc.ilqr import ILQR, ILQRSettings, LinearGaussianController, task_model
from rl_control.mpc.ilqr import control_cost as control_cost_of
from rl_control.mpc.observed_task import StateMap
from rl_control.policies.base import Policy, PolicyOutput
from rl_control.policies.registry import register_policy


@register_policy("ilqr_mpc")
class ILQRMPCPolicy(Policy):
    """Receding-horizon iLQR on the dynamics of task ``task`` (with ``task_params``)."""

    def __init__(self, task: str, task_params: dict[str, Any] | None = None,
                 horizon: int = 50, replan: int = 5, iterations: int = 5,
                 smoothing: float = 1e-3, control_cost: float | None = None) -> None:  # fmt: skip
        from rl_control.tasks.registry import make_task

        if horizon < 1 or not 1 <= replan <= horizon or iterations < 1:
            raise ValueError(
                "ilqr_mpc needs horizon >= 1, 1 <= replan <= horizon, iterations >= 1"
            )
        self.task = make_task(task, task_params)
        self.state_of = StateMap(self.task)  # raises for a task whose obs hide its state
        f, r = task_model(self.task, smoothing)
        cost = control_cost_of(self.task, control_cost)  # None: the task's default
        settings = ILQRSettings(max_iter=iterations, tol=1e-4, control_cost=cost)
        self.solver = ILQR(f, r, self.task.action_low, self.task.action_high, settings)
        self._config = dict(task=task, task_params=dict(task_params or {}), horizon=horizon,
                            replan=replan, iterations=iterations, smoothing=smoothing,
                            control_cost=cost)  # fmt: skip
        self.plan: LinearGaussianController | None = None
        self.step = 0
        self.solves = 0
        self.failed_solves = 0  # re-plans that kept the previous plan (see act)

    def reset(self, env_ids: np.ndarray | None = None) -> None:
        self.plan, self.step = None, 0

    def act(self, obs: np.ndarray, deterministic: bool = True) -> PolicyOutput:
        obs = np.asarray(obs, dtype=np.float64)
        if obs.shape != (1, self.task.obs_dim):
            n = self.task.obs_dim
            raise ValueError(f"ilqr_mpc acts on one observation [1, {n}], got {obs.shape}")
        replan = self._config["replan"]
        if self.plan is None or self.step % replan == 0:
            init = (np.zeros((self._config["horizon"], self.task.act_dim)) if self.plan is None
                    else self.plan.shifted(replan))  # fmt: skip
            ref = None if self.plan is None else init.x[0]
            self.solves += 1
            try:
                plan = self.solver.solve(self.state_of(obs, ref)[0], init).controller
                if not all(np.isfinite(a).all() for a in (plan.x, plan.u, plan.K)):
                    raise ValueError("ilqr_mpc: iLQR returned a non-finite plan")
            except ValueError:  # Q_uu not PD at any μ, or a plan gone non-finite (the 2R leg
                if self.plan is None:  # without its control cost, where a near-singular Q_uu
                    raise  # gave huge gains): the old plan goes on
                self.failed_solves += 1
                self.plan = init
            else:
                # act on the accepted (line-searched) nominal: with a few iterations the law's
                # feed-forward k_t is a full untried Newton step (2R leg, 2 iterations:
                # |k_0| ~ 7 N·m, return below zero torque's)
                self.plan = LinearGaussianController(plan.x, plan.u, np.zeros_like(plan.k),
                                                     plan.K, plan.quu)  # fmt: skip
        k = self.step % replan
        action = self.plan.mean(np.array([k]), self.state_of(obs, self.plan.x[k]))
        if not np.isfinite(action).all():  # huge gains times the deviation: the nominal
            self.failed_solves += 1
            action = self.plan.u[k][None]
        self.step += 1
        action = self.task.clip_action(action)
        return PolicyOutput(action, action, np.zeros(1))

    def get_config(self) -> dict[str, Any]:
        return dict(self._config)

    def get_state(self) -> dict[str, Any]:
        return {}  # nothing learned: the plan is rebuilt from the task's model

    def set_state(self, state: dict[str, Any]) -> None:
        if state:
            raise ValueError(f"ilqr_mpc has no learned state, got keys {sorted(state)}")
