"""``rl-control export RUN --kind dmd_mpc``: an M-DeMoRL run's planner as a deployable
checkpoint of the ``dmd_mpc`` policy kind.

A run's own checkpoint deploys its SAC actor (kind ``squashed_gaussian_mlp``); this writes a
second checkpoint file whose policy record is the DMD-MPC planner over the same run's
ensemble, actor and critic, with the run's planner settings (the horizon its schedule had
reached unless one is given). A run trained with ``mpc_acts: true`` chose its actions with the
public code's MPPI planner (:mod:`rl_control.mpc.actor_mppi`), so its export deploys that
planner with the run's ``act_*`` settings (horizon ``act_horizon`` unless one is given).
The file has the run's task and meta but no learner state: ``load_policy``/``policy_node
checkpoint:=`` deploy it; training does not resume from it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rl_control.algorithms.model_based import linear_schedule
from rl_control.algorithms.registry import make_algorithm
from rl_control.algorithms.spec import AlgorithmSpec
from rl_control.policies.dmd_mpc_policy import MPC_ACTS_KEYS, DMDMPCPolicy
from rl_control.training.checkpoint import (
    FORMAT,
    FORMAT_VERSION,
    encode_checkpoint,
    load_checkpoint,
    policy_record,
    resolve_checkpoint,
)
from rl_control.training.io import atomic_write_bytes

KINDS = ("dmd_mpc",)
#: meta of the run's checkpoint carried over (what produced it, where it stood)
_CARRIED = ("task", "env", "algo_config", "env_steps", "episodes", "updates")


def planner_policy(
    algorithm: Any, task: str = "", task_params: dict[str, Any] | None = None,
    horizon: int | None = None,
) -> DMDMPCPolicy:  # fmt: skip
    """The ``dmd_mpc`` policy of a live M-DeMoRL learner (its public pieces and config): the
    planner that chose the run's actions under ``mpc_acts``, else the paper's DMD-MPC."""
    cfg, sac = algorithm.config, algorithm.sac
    mpc_acts = None
    if cfg.mpc_acts:
        mpc_acts = {key: getattr(cfg, f"act_{key}") for key in MPC_ACTS_KEYS}
    if horizon is None:
        horizon = (
            cfg.act_horizon if cfg.mpc_acts
            else linear_schedule(sac.num_timesteps, cfg.horizon_schedule)
        )  # fmt: skip
    policy = DMDMPCPolicy(
        actor=algorithm.policy.get_config(),
        critic={"hidden": list(sac.config.hidden), "activation": sac.config.activation},
        model={"num_members": cfg.num_members, "num_elites": cfg.num_elites,
               "hidden": list(cfg.model_hidden), "activation": cfg.model_activation},
        horizon=horizon, num_samples=cfg.num_samples, elite_fraction=cfg.elite_fraction,
        alpha=cfg.alpha, gamma=sac.config.gamma, weighting=cfg.weighting, sigma=cfg.sigma,
        member_mode=cfg.member_mode, explode_factor=cfg.explode_factor,
        exact_reward=cfg.exact_reward, task=task, task_params=task_params, mpc_acts=mpc_acts,
    )  # fmt: skip
    policy.set_state({
        "actor": algorithm.policy.get_state(), "critic": sac.critic.state_dict(),
        "model": algorithm.model.state_dict(),
    })  # fmt: skip
    return policy


def export_planner(
    run: str | Path, kind: str = "dmd_mpc", out: str | Path | None = None,
    horizon: int | None = None,
) -> Path:  # fmt: skip
    """Write the planner checkpoint of an M-DeMoRL run (default ``dmd_mpc.pt`` beside it)."""
    if kind not in KINDS:
        raise ValueError(f"unknown export kind {kind!r}; choices: {list(KINDS)}")
    checkpoint = load_checkpoint(run)
    if checkpoint.get("algo") != "m_demorl" or "algorithm_state" not in checkpoint:
        raise ValueError(
            f"--kind dmd_mpc needs an m_demorl training checkpoint; {run} holds "
            f"{checkpoint.get('algo')!r} ({checkpoint['policy']['kind']})"
        )
    if horizon is not None and horizon < 1:
        raise ValueError(f"horizon must be >= 1, got {horizon}")
    from rl_control.tasks.registry import TASKS, make_task

    name, params = checkpoint.get("task", ""), checkpoint.get("env")
    actor = checkpoint["policy"]["config"]
    spec = AlgorithmSpec(
        actor["obs_dim"], actor["action_low"], actor["action_high"], 1,
        make_task(name, params) if name in TASKS else None,
    )  # fmt: skip
    state = checkpoint["algorithm_state"]
    algorithm = make_algorithm("m_demorl", spec, state["config"], 0)
    algorithm.load_state_dict(state)
    policy = planner_policy(algorithm, name, params, horizon)
    payload = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "algo": "m_demorl",
        **{k: checkpoint[k] for k in _CARRIED if k in checkpoint},
        "exported_from": str(resolve_checkpoint(run)),
        "policy": policy_record(policy),
    }  # fmt: skip
    target = Path(out) if out else resolve_checkpoint(run).with_name(f"{kind}.pt")
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(target, encode_checkpoint(payload))
    return target
