"""`rl-control tune` on the cart-pole at a tiny budget: trials, resume, summary, bad spaces."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from rl_control.cli.main import main
from rl_control.training.config import TrainConfig
from rl_control.training.io import read_yaml
from rl_control.training.runner import Runner
from rl_control.training.tune import STUDY, load_space, tune

CONFIG = Path(__file__).resolve().parents[2] / "config" / "train" / "ppo_soft_wall_cartpole.yaml"
SPACE = """eval_episodes: 2
sampler_seed: 3
params:
  algo.learning_rate: {low: 1.0e-4, high: 3.0e-3, log: true}
  algo.n_epochs: {low: 1, high: 3}
  algo.activation: {choices: [tanh, relu]}
"""


def _config() -> TrainConfig:
    return TrainConfig(
        algo="ppo", task="soft_wall_cartpole", env={"max_steps": 40}, total_steps=128,
        algo_config={"n_steps": 64, "batch_size": 64}, eval_episodes=1, num_envs=2,
    )  # fmt: skip


def _space(tmp_path, text: str = SPACE):
    path = tmp_path / "space.yaml"
    path.write_text(text)
    return path


def _study(out):
    return optuna.load_study(study_name=STUDY, storage=f"sqlite:///{out / 'study.db'}")


def test_tune_writes_trials_and_a_summary_and_continues(tmp_path, capsys):
    out = tmp_path / "tune"
    space = _space(tmp_path)
    args = ["tune", str(CONFIG), "--space", str(space),
            "--trials", "2", "--steps", "128", "--out", str(out), "--set", "num_envs=2",
            "--set", "algo.n_steps=64", "--set", "algo.batch_size=64",
            "--set", "env.max_steps=40"]  # fmt: skip
    assert main(args) == 0
    assert "2 trials finished, best return" in capsys.readouterr().out
    first = [(t.params, t.value) for t in _study(out).trials]
    assert sorted(p.name for p in (out / "trials").iterdir()) == ["trial_0000", "trial_0001"]
    assert all((out / "trials" / f"trial_000{i}" / "checkpoint.pt").is_file() for i in (0, 1))
    assert main([*args[:5], "3", *args[6:]]) == 0  # the same command, more trials: continues
    trials = _study(out).trials
    assert [(t.params, t.value) for t in trials[:2]] == first  # nothing re-run
    assert len(trials) == 3 and all(t.state.name == "COMPLETE" for t in trials)
    # the continued study draws anew: a sampler seeded as the first run was would replay it
    assert trials[2].params not in (trials[0].params, trials[1].params)
    summary = (out / "summary.md").read_text()
    best = max(trials, key=lambda t: t.value)
    assert f"Best: trial {best.number}, return {best.value:.6g}" in summary
    assert summary.count("| complete |") == 3
    best_config = read_yaml(out / "best_config.yaml")
    assert best_config["algo_config"]["n_epochs"] == best.params["algo.n_epochs"]
    assert best_config["run_dir"] is None and best_config["total_steps"] == 128


def test_a_stopped_trial_is_tried_again_with_its_values(tmp_path, monkeypatch):
    out, space = tmp_path / "tune", load_space(_space(tmp_path))
    train = Runner.train

    def interrupted(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(Runner, "train", interrupted)
    with pytest.raises(KeyboardInterrupt):
        tune(_config(), space, out, trials=1)
    monkeypatch.setattr(Runner, "train", train)
    # a trial left RUNNING, as by a killed process
    study = _study(out)
    killed = study.ask({p: d for p, d in study.trials[0].distributions.items()})
    tune(_config(), space, out, trials=2)
    trials = _study(out).trials
    assert [t.state.name for t in trials] == ["FAIL", "FAIL", "COMPLETE", "COMPLETE"]
    assert trials[2].params == trials[0].params and trials[2].user_attrs["retry_of"] == 0
    assert trials[3].user_attrs["retry_of"] == killed.number


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("algo.learning_rate: {low: 1.0e-2, high: 1.0e-4}", "params.algo.learning_rate needs"),
        ("algo.learning_rate: {low: 0, high: 1, log: true}", "params.algo.learning_rate: log"),
        ("algo.n_epochs: {low: 1, high: 3, lo: 2}", r"params.algo.n_epochs has unknown field"),
        ("algo.activation: {choices: []}", "params.algo.activation: choices"),
        ("algo.learnin_rate: {low: 1.0e-4, high: 1.0e-2}", r"unknown config key.*learnin_rate"),
        ("num_env: {low: 1, high: 2}", "search space key 'num_env'"),
        ("seed: {low: 0, high: 9}", "params.seed: 'seed' is fixed by the tune"),
    ],
)
def test_bad_search_spaces_name_the_key_before_any_trial(tmp_path, entry, message):
    path = _space(tmp_path, f"params:\n  {entry}\n")
    with pytest.raises(ValueError, match=message):
        tune(_config(), load_space(path), tmp_path / "tune", trials=1)
    assert not (tmp_path / "tune" / "study.db").exists()


def _median_pruned_study(tmp_path, extra_params: str, points: list[dict]):
    """Tune 384 PPO steps (evaluated every 128) over ``points``, enqueued in order, with
    the median pruner; returns the study's folder."""
    out = tmp_path / "tune"
    text = ("eval_episodes: 1\neval_every: 128\npruner: median\nparams:\n"
            "  algo.learning_rate: {choices: [3.0e-3, 1.0e-8]}\n" + extra_params)  # fmt: skip
    space = load_space(_space(tmp_path, text))
    config = TrainConfig(**{**_config().to_dict(), "total_steps": 384})
    config.algo_config.update(n_epochs=10)
    out.mkdir()
    storage = f"sqlite:///{out / 'study.db'}"
    study = optuna.create_study(study_name=STUDY, storage=storage, direction="maximize")
    for point in points:
        study.enqueue_trial(point)
    tune(config, space, out, trials=len(points))
    return out


def test_the_median_pruner_stops_a_trial_that_lags_the_earlier_ones(tmp_path):
    # two that learn, then one that cannot
    lrs = [{"algo.learning_rate": lr} for lr in (3.0e-3, 3.0e-3, 1.0e-8)]
    out = _median_pruned_study(tmp_path, "", lrs)
    trials = _study(out).trials
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE", "PRUNED"]
    assert sorted(trials[0].intermediate_values) == [128, 256, 384]
    step = max(trials[2].intermediate_values)
    assert step < 384 and trials[2].intermediate_values[step] < trials[0].intermediate_values[step]
    assert (
        f"| 2 | pruned | {trials[2].intermediate_values[step]:.6g} at step {step} |"
        in (out / "summary.md").read_text()
    )


@pytest.mark.parametrize(
    "name", ["ppo_minitaur", "ppo_soft_wall_cartpole", "ppo_minitaur_tg", "trpo_minitaur_tg"]
)
def test_the_shipped_search_spaces_fit_their_configs(tmp_path, name):
    from rl_control.training.config import load_config
    from rl_control.training.tune import _check

    root = CONFIG.parents[2]
    space = load_space(root / "config" / "tune" / f"{name}.yaml")
    _check(load_config(root / "config" / "train" / f"{name}.yaml"), space, tmp_path)


def test_a_second_tune_on_a_folder_in_use_is_refused(tmp_path):
    import fcntl

    out = tmp_path / "tune"
    out.mkdir()
    with open(out / ".lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a running tune holds it
        with pytest.raises(ValueError, match="is in use by another tune"):
            tune(_config(), load_space(_space(tmp_path)), out, trials=1)


def test_trials_of_different_n_steps_are_pruned_at_the_same_grid_points(tmp_path):
    """Evaluations fall on update boundaries (96 or 160 steps here, not the 128 grid); they
    are reported at the grid point they belong to, so the median pruner can compare them."""
    # the laggard updates less often
    points = [{"algo.learning_rate": lr, "algo.n_steps": n}
              for lr, n in ((3.0e-3, 48), (3.0e-3, 48), (1.0e-8, 80))]  # fmt: skip
    out = _median_pruned_study(tmp_path, "  algo.n_steps: {choices: [48, 80]}\n", points)
    trials = _study(out).trials
    assert sorted(trials[0].intermediate_values) == [128, 256, 384]
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE", "PRUNED"]
    assert set(trials[2].intermediate_values) < {128, 256}


def _eval_returns(run_dir) -> dict[int, float]:
    """A run folder's evaluations after step 0, read back from its metrics.csv."""
    import csv

    with open(run_dir / "metrics.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["eval_return_mean"]]
    return {int(r["env_steps"]): float(r["eval_return_mean"]) for r in rows[1:]}


def _seeded_study(tmp_path, name: str, seeds: str, point: dict):
    """One trial of ``point`` over 384 steps, evaluated every 128, with ``seeds`` (a
    ``train_seeds`` line or none); returns the study folder."""
    out = tmp_path / name
    text = (f"eval_episodes: 1\neval_every: 128\npruner: median\n{seeds}params:\n"
            "  algo.learning_rate: {choices: [3.0e-3, 1.0e-8]}\n")  # fmt: skip
    config = TrainConfig(**{**_config().to_dict(), "total_steps": 384, "seed": 7})
    out.mkdir()
    study = optuna.create_study(
        study_name=STUDY, storage=f"sqlite:///{out / 'study.db'}", direction="maximize"
    )
    study.enqueue_trial(point)
    tune(config, load_space(_space(tmp_path, text)), out, trials=1)
    return out


def test_a_multi_seed_trial_reports_the_mean_over_its_seeds(tmp_path):
    point = {"algo.learning_rate": 3.0e-3}
    out = _seeded_study(tmp_path, "two", "train_seeds: [4, 9]\n", point)
    (trial,) = _study(out).trials
    folder = out / "trials" / "trial_0000"
    runs = [_eval_returns(folder / f"seed_{s}") for s in (4, 9)]
    assert runs[0] != runs[1]  # the seeds train differently, so the mean is not either one
    assert trial.value == pytest.approx((runs[0][384] + runs[1][384]) / 2)
    assert trial.intermediate_values == pytest.approx(
        {step: (runs[0][step] + runs[1][step]) / 2 for step in (128, 256, 384)}
    )
    assert trial.user_attrs["seed_returns"] == pytest.approx(
        {"4": runs[0][384], "9": runs[1][384]}
    )
    assert read_yaml(folder / "seed_9" / "config.yaml")["seed"] == 9
    summary = (out / "summary.md").read_text()
    assert "the mean over training seeds [4, 9]" in summary
    assert "| return, seed 4 | return, seed 9 |" in summary
    assert (
        f"| 0 | complete | {trial.value:.6g} | {runs[0][384]:.6g} | {runs[1][384]:.6g} |"
        in summary
    )
    head = (out / "best_config.yaml").read_text().splitlines()[0]
    assert (
        "over training seeds [4, 9]" in head and read_yaml(out / "best_config.yaml")["seed"] == 4
    )


def test_a_one_seed_list_trains_as_the_config_seed_does(tmp_path):
    point = {"algo.learning_rate": 3.0e-3}
    listed = _study(_seeded_study(tmp_path, "listed", "train_seeds: [7]\n", point)).trials[0]
    plain = _study(_seeded_study(tmp_path, "plain", "", point)).trials[0]
    assert (listed.value, listed.intermediate_values) == (plain.value, plain.intermediate_values)
    assert (tmp_path / "listed" / "trials" / "trial_0000" / "checkpoint.pt").is_file()
    assert (
        "training seed 7, 1 episodes from seed 10007"
        in (tmp_path / "listed" / "summary.md").read_text()
    )
    other = _study(_seeded_study(tmp_path, "other", "train_seeds: [8]\n", point)).trials[0]
    assert other.value != plain.value  # the list's seed is the one trained on


@pytest.mark.parametrize(
    ("seeds", "message"),
    [("[]", "non-empty list"), ("[3, -1]", "integers >= 0"), ("3", "non-empty list"),
     ("[1, true]", "integers >= 0"), ("[5, 2, 5]", r"lists \[5\] more than once")],
)  # fmt: skip
def test_bad_train_seeds_are_refused_when_the_space_is_read(tmp_path, seeds, message):
    path = _space(tmp_path, f"train_seeds: {seeds}\n" + SPACE)
    with pytest.raises(ValueError, match=f"space.yaml: train_seeds .*{message}"):
        load_space(path)


def test_a_study_continues_only_on_its_own_training_seeds(tmp_path):
    out = _seeded_study(tmp_path, "tune", "train_seeds: [4]\n", {"algo.learning_rate": 1.0e-8})
    text = "train_seeds: [4, 9]\n" + SPACE
    with pytest.raises(ValueError, match=r"tuned on training seeds \[4\], not \[4, 9\]"):
        tune(_config(), load_space(_space(tmp_path, text)), out, trials=2)


def test_the_cli_refuses_a_seed_beside_the_space_s_train_seeds(tmp_path, capsys):
    space = _space(tmp_path, "train_seeds: [1, 2]\n" + SPACE)
    args = ["tune", str(CONFIG), "--space", str(space), "--trials", "1", "--seed", "3",
            "--out", str(tmp_path / "tune")]  # fmt: skip
    assert main(args) == 2
    assert "--seed 3 and" in capsys.readouterr().err and not (tmp_path / "tune").exists()
