"""The objective of one `rl-control tune` trial: train on each training seed, mean return.

A trial trains its values once per training seed (the space's ``train_seeds``, or the config's
one ``seed``), the seeds one after the other, and its objective is the mean of their final
deterministic evaluation returns. With one seed the run folder is ``trials/trial_<n>``; with
several, ``trials/trial_<n>/seed_<s>`` each.

What the pruner reads: every seed's run evaluates at the same env steps (the update boundaries
depend on ``n_steps``, not on the seed), and each evaluation counts as the multiple of
``eval_every`` it belongs to. The earlier seeds only record theirs; during the last seed's run,
each evaluation reports the mean over all seeds' returns at that step, so the pruner compares
the objective's own quantity between trials at equal steps. The earlier seeds therefore always
run to the end: pruning saves only part of the last seed's run, the price of keeping it simple
and of judging a trial on every seed rather than on the first one alone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rl_control.training.config import TrainConfig, apply_set

if TYPE_CHECKING:
    from rl_control.training.tune import SearchSpace


def trial_config(
    base: TrainConfig, values: dict[str, Any], run_dir: Path, eval_every: int = 0,
    seed: int | None = None,
) -> TrainConfig:  # fmt: skip
    """``base`` with ``values`` applied as ``--set`` overrides, the trial's folder and (when
    given) its training seed."""
    data = with_values(base.to_dict(), values)
    data.update(run_dir=str(run_dir), eval_every=eval_every)
    if seed is not None:
        data.update(seed=seed)
    return TrainConfig.from_dict(data, "tune trial")


def with_values(data: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """``data`` (a config dict, changed in place) with ``values`` applied as ``--set``."""
    for key, value in values.items():
        apply_set(data, f"{key}={json.dumps(value)}")  # JSON is YAML: values round-trip
    return data


def train_seeds(base: TrainConfig, space: SearchSpace) -> tuple[int, ...]:
    """The seeds every trial trains on: the space's ``train_seeds``, else the config's seed."""
    return space.train_seeds or (base.seed,)


def objective(trial: Any, base: TrainConfig, space: SearchSpace, out: Path) -> float:
    """Train ``trial``'s values on every training seed; the mean final return (see above)."""
    import optuna

    from rl_control.training.runner import Runner

    values = {p.key: p.suggest(trial) for p in space.params}
    run_dir = out / "trials" / f"trial_{trial.number:04d}"
    trial.set_user_attr("run_dir", str(run_dir.relative_to(out)))
    seeds = train_seeds(base, space)
    by_seed: list[dict[int, float]] = []  # per seed so far: grid step -> evaluation return
    finals: dict[str, float] = {}

    def report(env_steps: int, result: Any) -> None:
        if env_steps == 0:
            # the untrained policy, alike in every trial; Optuna's MedianPruner judges a trial
            # by its best value so far, so this one would shield every trial that falls below it
            return
        # an evaluation comes at the first update at or after a multiple of eval_every, which
        # depends on the trial's n_steps; the pruner compares trials at equal steps, so it is
        # counted at that multiple (at its own step if the multiple is taken: the last one)
        own = by_seed[-1]
        step = env_steps - env_steps % space.eval_every if space.eval_every else env_steps
        step = env_steps if step in own else step
        own[step] = result.mean
        if len(by_seed) < len(seeds) or any(step not in r for r in by_seed):
            return  # an earlier seed: the mean is reported during the last seed's run
        mean = sum(r[step] for r in by_seed) / len(by_seed)
        trial.report(mean, step)
        if trial.should_prune():
            raise optuna.TrialPruned(f"mean return {mean:.6g} at env step {env_steps}")

    for seed in seeds:
        by_seed.append({})
        folder = run_dir if len(seeds) == 1 else run_dir / f"seed_{seed}"
        config = trial_config(base, values, folder, space.eval_every, seed)
        try:
            summary = Runner(config, tensorboard=False, on_eval=report).train()
        except KeyboardInterrupt:
            trial.set_user_attr("interrupted", True)  # the next tune tries these values again
            raise
        except ValueError as err:
            if not str(err).startswith("non-finite"):
                raise
            trial.set_user_attr("diverged", f"seed {seed}: {err}")  # an outcome of a search
            raise optuna.TrialPruned(str(err)) from None
        finals[str(seed)] = float(summary["eval_return_mean"])
        trial.set_user_attr("seed_returns", finals)  # JSON keys are strings
    return sum(finals.values()) / len(finals)
