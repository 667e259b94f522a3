"""`rl-control tune`: an Optuna hyperparameter search over a training config.

A search space file (YAML) names config keys in ``--set`` syntax and their ranges::

    eval_episodes: 5          # objective: final deterministic eval return, mean over these
    train_seeds: [100, 101]   # optional: train every trial once per seed, mean of their returns
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
episodes from the fixed seeds ``seed + 10000 + i``, the same for every trial). With
``train_seeds`` (instead of the config's one ``seed``) a trial trains once per seed, one after
the other, in ``trial_<n>/seed_<s>``, and its objective is the mean of their final returns
(rl_control/training/tune_objective.py, which also says what the pruner then reads). The study
lives in ``OUT/study.db`` (SQLite): running the same command again continues it up to
``--trials`` finished trials; a trial cut by a stop is marked failed and its values are tried
again first. ``OUT/summary.md`` (best values, a table of trials) and ``OUT/best_config.yaml``
are rewritten atomically after every trial. With ``pruner: median`` a trial whose
intermediate return (with several seeds: the mean over seeds, reported during the last
seed's run) falls below the median of the earlier trials' at the same env step stops
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

from rl_control.training.config import TrainConfig
from rl_control.training.evaluation import EVAL_SEED_OFFSET
from rl_control.training.io import atomic_write_text, read_yaml
from rl_control.training.tune_objective import (
    objective,
    train_seeds,
    trial_config,
    with_values,
)

STUDY = "rl_control_tune"
_ENTRY_KEYS = {"low", "high", "log", "step", "choices"}
_FILE_KEYS = {"eval_episodes", "sampler_seed", "eval_every", "pruner", "params", "train_seeds"}
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
    #: training seeds of every trial (None: the config's seed); the objective is their mean
    train_seeds: tuple[int, ...] | None = None


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
    fields = {k: data[k] for k in _FILE_KEYS - {"params", "train_seeds"} if k in data}
    if "train_seeds" in data:
        fields["train_seeds"] = _seeds(data["train_seeds"], str(path))
    space = SearchSpace(params, **fields)
    if space.pruner not in PRUNERS:
        raise ValueError(f"{path}: pruner must be one of {PRUNERS}, got {space.pruner!r}")
    for name, least in (("eval_episodes", 1), ("sampler_seed", 0), ("eval_every", 0)):
        value = getattr(space, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise ValueError(f"{path}: {name} must be an integer >= {least}, got {value!r}")
    return space


def _seeds(seeds: Any, where: str) -> tuple[int, ...]:
    """``train_seeds``: a non-empty list of distinct integers >= 0."""
    ints = isinstance(seeds, list) and all(
        isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds
    )
    if not ints or not seeds:
        raise ValueError(f"{where}: train_seeds must be a non-empty list of integers >= 0, "
                         f"got {seeds!r}")  # fmt: skip
    if len(set(seeds)) < len(seeds):
        twice = sorted({s for s in seeds if seeds.count(s) > 1})
        raise ValueError(f"{where}: train_seeds lists {twice} more than once: a seed twice "
                         "would count twice in the mean")  # fmt: skip
    return tuple(seeds)


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


def _same_seeds(study: Any, seeds: tuple[int, ...], out: Path) -> None:
    """A study continues on the training seeds it started with: its objective is their mean."""
    before = study.user_attrs.get("train_seeds")
    if before is not None and tuple(before) != seeds:
        raise ValueError(f"{out / 'study.db'} was tuned on training seeds {before}, not "
                         f"{list(seeds)}: use another --out")  # fmt: skip
    study.set_user_attr("train_seeds", list(seeds))


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


def sampler(seed: int, trials_so_far: int) -> Any:
    """Optuna's TPE sampler for a study that holds ``trials_so_far`` trials. A new study's is
    seeded by ``seed``; a continued study's by ``seed`` and its trial count: the same seed
    again would replay the random start-up draws the study began with (a study of 8 trials
    continued to 16 repeated its trials 0 and 1 as trials 8 and 9)."""
    import numpy as np
    import optuna

    if trials_so_far:
        seed = int(np.random.SeedSequence([seed, trials_so_far]).generate_state(1)[0])
    return optuna.samplers.TPESampler(seed=seed)


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
            direction="maximize", sampler=sampler(space.sampler_seed, 0),
            pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1)
            if space.pruner == "median" else optuna.pruners.NopPruner(),
        )  # fmt: skip
        if study.direction != optuna.study.StudyDirection.MAXIMIZE:
            raise ValueError(f"{out / 'study.db'} holds a study that does not maximise; "
                             "a tune maximises the return: use another --out")  # fmt: skip
        _same_seeds(study, train_seeds(base, space), out)
        study.sampler = sampler(space.sampler_seed, len(study.trials))
        _requeue_interrupted(study)
        while (done := len(_finished(study))) < trials:
            study.optimize(lambda t: objective(t, base, space, out), n_trials=1)
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


def write_summary(
    study: Any, config: TrainConfig, space: SearchSpace, out: Path, trials: int
) -> Any:
    """``summary.md`` (best values, every trial) and ``best_config.yaml`` (``config`` with the
    best values), both atomically; returns the best trial (None while none completed)."""
    import yaml

    rows = study.get_trials(deepcopy=False)
    keys = sorted({k for t in rows for k in t.params})
    seeds = train_seeds(config, space)
    several = len(seeds) > 1
    if several:
        goal = (
            f"the mean over training seeds {list(seeds)} of the final deterministic "
            f"evaluation return ({space.eval_episodes} episodes from the training seed + "
            f"{EVAL_SEED_OFFSET} each); a pruned trial shows that mean where it stopped"
        )
    else:
        goal = (
            f"final deterministic evaluation return, training seed {seeds[0]}, "
            f"{space.eval_episodes} episodes from seed {seeds[0] + EVAL_SEED_OFFSET}"
        )
    lines = [
        f"# rl-control tune: study `{STUDY}` in `{out}`",
        "",
        f"{len(_finished(study))} of {trials} trials finished; objective: {goal}.",
        "",
    ]
    best = None
    if any(t.state.name == "COMPLETE" for t in rows):
        best = study.best_trial
        lines += [f"Best: trial {best.number}, return {best.value:.6g}, run folder "
                  f"`{best.user_attrs.get('run_dir')}`", ""]  # fmt: skip
        lines += [f"- `{k}`: {json.dumps(v)}" for k, v in best.params.items()] + [""]
    by_seed = [f"return, seed {s}" for s in seeds] if several else []
    header = ["trial", "state", "return", *by_seed, *(f"`{k}`" for k in keys), "run folder"]
    lines += ["| " + " | ".join(header) + " |", "| --- " * len(header) + "|"]
    for t in rows:
        value = "" if t.value is None else f"{t.value:.6g}"
        if t.state.name == "PRUNED" and t.intermediate_values:  # where it was stopped
            step = max(t.intermediate_values)
            value = f"{t.intermediate_values[step]:.6g} at step {step}"
        cells = [str(t.number), t.state.name.lower(), value]
        if several:  # a seed not trained (pruned or cut before it) stays empty
            got = t.user_attrs.get("seed_returns", {})
            cells += [f"{got[str(s)]:.6g}" if str(s) in got else "" for s in seeds]
        cells += [json.dumps(t.params[k]) if k in t.params else "" for k in keys]
        lines.append("| " + " | ".join(cells + [t.user_attrs.get("run_dir", "")]) + " |")
    atomic_write_text(out / "summary.md", "\n".join(lines) + "\n")
    if best is not None:
        data = with_values(config.to_dict(), best.params)
        data.update(run_dir=None, seed=seeds[0])
        got = (
            f"mean final eval return {best.value:.6g} over training seeds {list(seeds)}; "
            "seed: the first"
            if several
            else f"final eval return {best.value:.6g}"
        )
        head = (f"# best of rl-control tune study {STUDY!r} in {out} (trial {best.number} of "
                f"{len(rows)}, {got})\n")  # fmt: skip
        atomic_write_text(out / "best_config.yaml", head + yaml.safe_dump(data, sort_keys=False))
    return best
