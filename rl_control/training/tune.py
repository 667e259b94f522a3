"""`rl-control tune`: an Optuna hyperparameter search over a training config.

A search space file (YAML) names config keys in ``--set`` syntax and their ranges::

    eval_episodes: 5          # objective: final deterministic eval return, mean over these
    sampler_seed: 0           # seeds Optuna's TPE sampler
    eval_every: 10000         # intermediate evaluations (0: none), what a pruner reads
    pruner: median            # or none: stop a trial below the median of the earlier ones
    params:
      algo.learning_rate: {low: 1.0e-4, high: 1.0e-2, log: true}   # float (log scale)
      algo.n_epochs: {low: 2, high: 10}                             # int: both bounds ints
      algo.n_steps: {low: 256, high: 2048, step: 256}
      algo.activation: {choices: [tanh, relu]}                      # categorical

Every trial is a run folder ``OUT/trials/trial_<n>`` trained with ``Runner`` on the config
plus the trial's values; its objective is the run's final evaluation (``eval_episodes``
episodes from the fixed seeds ``seed + 10000 + i``, the same for every trial). The study
lives in ``OUT/study.db`` (SQLite): running the same command again continues it up to
``--trials`` finished trials; a trial cut by a stop is marked failed and its values are tried
again first. ``OUT/summary.md`` (best values, a table of trials) and ``OUT/best_config.yaml``
are rewritten atomically after every trial. With ``pruner: median`` a trial whose
intermediate return falls below the median of the earlier trials' at the same env step stops
there (Optuna's MedianPruner, after 2 finished trials). The step-0 evaluation (the untrained
policy, alike in every trial) is not reported: the pruner judges a trial by its best value so
far, which that one would set for every trial whose returns then fall.
An evaluation runs at the first update boundary at or after each multiple of ``eval_every``
and is reported at that multiple, so that trials of different ``n_steps`` are compared.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rl_control.training.config import TrainConfig, apply_set
from rl_control.training.evaluation import EVAL_SEED_OFFSET
from rl_control.training.io import atomic_write_text, read_yaml

STUDY = "rl_control_tune"
_ENTRY_KEYS = {"low", "high", "log", "step", "choices"}
_FILE_KEYS = {"eval_episodes", "sampler_seed", "eval_every", "pruner", "params"}
PRUNERS = ("none", "median")
#: config keys a search may not set: they define the study, not a trial
_FIXED = {"seed", "run_dir", "total_steps", "eval_episodes", "algo", "task", "label"}


@dataclass(frozen=True)
class Param:
    """One dimension of the search space."""

    key: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] | None = None

    def suggest(self, trial: Any) -> Any:
        if self.choices is not None:
            return trial.suggest_categorical(self.key, list(self.choices))
        if isinstance(self.low, int) and isinstance(self.high, int):
            return trial.suggest_int(self.key, self.low, self.high, step=int(self.step or 1),
                                     log=self.log)  # fmt: skip
        return trial.suggest_float(self.key, self.low, self.high, step=self.step, log=self.log)

    def first(self) -> Any:
        """A value of the space (its low end or first choice), for checking the config."""
        return self.choices[0] if self.choices is not None else self.low


@dataclass(frozen=True)
class SearchSpace:
    params: tuple[Param, ...]
    eval_episodes: int = 5
    sampler_seed: int = 0
    eval_every: int = 0
    pruner: str = "none"


def _param(key: str, entry: Any, where: str) -> Param:
    """One entry, checked; every error names the key."""
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: params.{key} must be a mapping, got {entry!r}")
    unknown = sorted(set(entry) - _ENTRY_KEYS)
    if unknown:
        raise ValueError(f"{where}: params.{key} has unknown field(s) {unknown}; known: "
                         f"{sorted(_ENTRY_KEYS)}")  # fmt: skip
    if key in _FIXED:
        raise ValueError(f"{where}: params.{key}: {key!r} is fixed by the tune, not searched")
    if "choices" in entry:
        choices = entry["choices"]
        if set(entry) != {"choices"} or not isinstance(choices, list) or not choices:
            raise ValueError(f"{where}: params.{key}: choices must be a non-empty list and "
                             "stand alone (no low/high)")  # fmt: skip
        return Param(key, choices=tuple(choices))
    low, high = entry.get("low"), entry.get("high")
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (low, high))
    if not numbers or not math.isfinite(low) or not math.isfinite(high) or low >= high:
        raise ValueError(f"{where}: params.{key} needs numbers low < high (or choices), got "
                         f"low={low!r}, high={high!r}")  # fmt: skip
    log, step = entry.get("log", False), entry.get("step")
    if not isinstance(log, bool) or (log and low <= 0):
        raise ValueError(f"{where}: params.{key}: log must be true/false and needs low > 0")
    if step is not None and (log or not isinstance(step, int | float) or step <= 0):
        raise ValueError(f"{where}: params.{key}: step must be a positive number, without log")
    return Param(key, low, high, log, step)


def load_space(path: str | os.PathLike[str]) -> SearchSpace:
    """Read and check a search space file (errors name the file and the key)."""
    data = read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("params"), dict):
        raise ValueError(f"{path}: a search space is a mapping with a 'params' mapping")
    unknown = sorted(set(data) - _FILE_KEYS)
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {unknown}; known: {sorted(_FILE_KEYS)}")
    if not data["params"]:
        raise ValueError(f"{path}: params is empty: nothing to search")
    params = tuple(_param(str(k), v, str(path)) for k, v in data["params"].items())
    space = SearchSpace(params, **{k: data[k] for k in _FILE_KEYS - {"params"} if k in data})
    if space.pruner not in PRUNERS:
        raise ValueError(f"{path}: pruner must be one of {PRUNERS}, got {space.pruner!r}")
    for name, least in (("eval_episodes", 1), ("sampler_seed", 0), ("eval_every", 0)):
        value = getattr(space, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise ValueError(f"{path}: {name} must be an integer >= {least}, got {value!r}")
    return space


def trial_config(
    base: TrainConfig, values: dict[str, Any], run_dir: Path, eval_every: int = 0
) -> TrainConfig:
    """``base`` with ``values`` applied as ``--set`` overrides and the trial's folder."""
    data = base.to_dict()
    for key, value in values.items():
        apply_set(data, f"{key}={json.dumps(value)}")  # JSON is YAML: values round-trip
    data.update(run_dir=str(run_dir), eval_every=eval_every)
    return TrainConfig.from_dict(data, "tune trial")


@contextmanager
def _exclusive(folder: Path) -> Iterator[None]:
    """Hold ``folder/.lock``: one tune per folder (a second one would take its trials)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ValueError(f"tune folder {folder} is in use by another tune") from None
        yield


def _check(base: TrainConfig, space: SearchSpace, out: Path) -> None:
    """Build the envs and algorithm once with every value at its first point, so a key the
    config or the algorithm does not know fails here, named, before any trial starts."""
    from rl_control.training.runner import Runner

    for param in space.params:
        try:
            config = trial_config(base, {param.key: param.first()}, out / "check")
        except ValueError as err:
            raise ValueError(f"search space key {param.key!r}: {err}") from None
    config = trial_config(base, {p.key: p.first() for p in space.params}, out / "check")
    try:
        envs, _ = Runner(config, tensorboard=False)._build()
    except ValueError as err:
        raise ValueError(f"search space: {err}") from None
    envs.close()


def _requeue_interrupted(study: Any) -> None:
    """Trials a stopped tune left RUNNING (killed) or failed by Ctrl-C: mark them failed and
    try their values again first (each one once)."""
    from optuna.trial import TrialState

    retried = set(study.user_attrs.get("retried", []))
    for trial in study.get_trials(deepcopy=False):
        cut = trial.state == TrialState.RUNNING or (
            trial.state == TrialState.FAIL and trial.user_attrs.get("interrupted")
        )
        if not cut or trial.number in retried:
            continue
        if trial.state == TrialState.RUNNING:
            study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
        study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})
        retried.add(trial.number)
    study.set_user_attr("retried", sorted(retried))


def tune(
    config: TrainConfig, space: SearchSpace, out: str | os.PathLike[str], trials: int
) -> dict[str, Any]:
    """Run (or continue) the study in ``out`` until it has ``trials`` finished trials."""
    import optuna

    if trials < 1:
        raise ValueError(f"--trials must be at least 1, got {trials}")
    out = Path(out)
    base = TrainConfig.from_dict({**config.to_dict(), "eval_episodes": space.eval_episodes})
    with _exclusive(out):
        _check(base, space, out)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(
            study_name=STUDY, storage=f"sqlite:///{out / 'study.db'}", load_if_exists=True,
            direction="maximize", sampler=optuna.samplers.TPESampler(seed=space.sampler_seed),
            pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1)
            if space.pruner == "median" else optuna.pruners.NopPruner(),
        )  # fmt: skip
        if study.direction != optuna.study.StudyDirection.MAXIMIZE:
            raise ValueError(f"{out / 'study.db'} holds a study that does not maximise; "
                             "a tune maximises the return: use another --out")  # fmt: skip
        _requeue_interrupted(study)
        while (done := len(_finished(study))) < trials:
            study.optimize(lambda t: _objective(t, base, space, out), n_trials=1)
            best = write_summary(study, config, space, out, trials)
            shown = "none yet" if best is None else f"{best.value:.6g} (trial {best.number})"
            print(f"tune: {done + 1}/{trials} trials finished, best return {shown}", flush=True)
        best = write_summary(study, config, space, out, trials)
    return {"best_value": None if best is None else best.value,
            "best_params": None if best is None else best.params,
            "trials": len(_finished(study))}  # fmt: skip


def _finished(study: Any) -> list[Any]:
    from optuna.trial import TrialState

    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))


def _objective(trial: Any, base: TrainConfig, space: SearchSpace, out: Path) -> float:
    import optuna

    from rl_control.training.runner import Runner

    values = {p.key: p.suggest(trial) for p in space.params}
    run_dir = out / "trials" / f"trial_{trial.number:04d}"
    trial.set_user_attr("run_dir", str(run_dir.relative_to(out)))

    reported: set[int] = set()

    def report(env_steps: int, result: Any) -> None:
        if env_steps == 0:
            # the untrained policy, alike in every trial; Optuna's MedianPruner judges a trial
            # by its best value so far, so this one would shield every trial that falls below it
            return
        # an evaluation comes at the first update at or after a multiple of eval_every, which
        # depends on the trial's n_steps; the pruner compares trials at equal steps, so it is
        # reported at that multiple (at its own step if the multiple is taken: the last one)
        step = env_steps - env_steps % space.eval_every if space.eval_every else env_steps
        step = env_steps if step in reported else step
        reported.add(step)
        trial.report(result.mean, step)
        if trial.should_prune():
            raise optuna.TrialPruned(f"return {result.mean:.6g} at env step {env_steps}")

    config = trial_config(base, values, run_dir, space.eval_every)
    try:
        summary = Runner(config, tensorboard=False, on_eval=report).train()
    except KeyboardInterrupt:
        trial.set_user_attr("interrupted", True)  # the next tune tries these values again
        raise
    except ValueError as err:
        if not str(err).startswith("non-finite"):
            raise
        trial.set_user_attr("diverged", str(err))  # a legitimate outcome of a search
        raise optuna.TrialPruned(str(err)) from None
    return float(summary["eval_return_mean"])


def write_summary(
    study: Any, config: TrainConfig, space: SearchSpace, out: Path, trials: int
) -> Any:
    """``summary.md`` (best values, every trial) and ``best_config.yaml`` (``config`` with the
    best values), both atomically; returns the best trial (None while none completed)."""
    import yaml

    rows = study.get_trials(deepcopy=False)
    keys = sorted({k for t in rows for k in t.params})
    lines = [f"# rl-control tune: study `{STUDY}` in `{out}`", "",
             f"{len(_finished(study))} of {trials} trials finished; objective: final "
             f"deterministic evaluation return, {space.eval_episodes} episodes from seed "
             f"{config.seed + EVAL_SEED_OFFSET}.", ""]  # fmt: skip
    best = None
    if any(t.state.name == "COMPLETE" for t in rows):
        best = study.best_trial
        lines += [f"Best: trial {best.number}, return {best.value:.6g}, run folder "
                  f"`{best.user_attrs.get('run_dir')}`", ""]  # fmt: skip
        lines += [f"- `{k}`: {json.dumps(v)}" for k, v in best.params.items()] + [""]
    header = ["trial", "state", "return", *(f"`{k}`" for k in keys), "run folder"]
    lines += ["| " + " | ".join(header) + " |", "| --- " * len(header) + "|"]
    for t in rows:
        value = "" if t.value is None else f"{t.value:.6g}"
        if t.state.name == "PRUNED" and t.intermediate_values:  # where it was stopped
            step = max(t.intermediate_values)
            value = f"{t.intermediate_values[step]:.6g} at step {step}"
        cells = [str(t.number), t.state.name.lower(), value]
        cells += [json.dumps(t.params[k]) if k in t.params else "" for k in keys]
        lines.append("| " + " | ".join(cells + [t.user_attrs.get("run_dir", "")]) + " |")
    atomic_write_text(out / "summary.md", "\n".join(lines) + "\n")
    if best is not None:
        data = config.to_dict()
        for key, value in best.params.items():
            apply_set(data, f"{key}={json.dumps(value)}")
        data.update(run_dir=None)
        head = (f"# best of rl-control tune study {STUDY!r} in {out} (trial {best.number} of "
                f"{len(rows)}, final eval return {best.value:.6g})\n")  # fmt: skip
        atomic_write_text(out / "best_config.yaml", head + yaml.safe_dump(data, sort_keys=False))
    return best
