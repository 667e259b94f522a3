"""TrainConfig: YAML loading, CLI overrides, --set, and one-line errors."""

from __future__ import annotations

import pytest

from rl_control.training.config import TrainConfig, apply_set, load_config


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "ppo.yaml"
    path.write_text(
        "algo: ppo\ntask: soft_wall_cartpole\nnum_envs: 2\ntotal_steps: 1e5\n"
        "env: {max_steps: 100}\nalgo_config:\n  learning_rate: 3e-4\n  n_steps: 64\n"
    )
    return path


def test_load_file(config_file):
    cfg = load_config(config_file)
    assert (cfg.algo, cfg.task, cfg.num_envs, cfg.total_steps) == (
        "ppo",
        "soft_wall_cartpole",
        2,
        100000,
    )
    assert isinstance(cfg.total_steps, int)
    assert cfg.algo_config == {"learning_rate": 3e-4, "n_steps": 64}
    assert cfg.env == {"max_steps": 100}
    assert cfg.seed == 0 and cfg.run_dir is None


def test_overrides_and_sets(config_file):
    cfg = load_config(
        config_file,
        {"total_steps": 500, "seed": 3, "num_envs": None, "run_dir": "runs/x"},
        ["algo.learning_rate=1e-3", "algo.hidden=[32, 32]", "env.max_steps=50", "eval_every=0"],
    )
    assert (cfg.total_steps, cfg.seed, cfg.num_envs, cfg.run_dir) == (500, 3, 2, "runs/x")
    assert cfg.algo_config == {"learning_rate": 1e-3, "n_steps": 64, "hidden": [32, 32]}
    assert cfg.env == {"max_steps": 50}
    assert cfg.eval_every == 0


def test_changing_algo_drops_the_files_algo_config(config_file):
    with pytest.warns(UserWarning, match="ignoring the file's algo_config"):
        cfg = load_config(config_file, {"algo": "sac"}, ["algo.batch_size=32"])
    assert cfg.algo == "sac" and cfg.algo_config == {"batch_size": 32}
    assert cfg.env == {"max_steps": 100}  # same task: env params kept


def test_no_file_needs_algo_and_task():
    cfg = load_config(None, {"algo": "trpo", "task": "minitaur"})
    assert (cfg.algo, cfg.task) == ("trpo", "minitaur")
    with pytest.raises(ValueError, match="missing the required key 'task'"):
        load_config(None, {"algo": "trpo"})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("algo: ppo\ntask: t\nlearning_rate: 1\n", r"unknown key\(s\) in .*: learning_rate"),
        ("- a\n- b\n", "must hold a YAML mapping, got list"),
        ("algo: ppo\ntask: t\nnum_envs: 0\n", "'num_envs' must be positive"),
        ("algo: ppo\ntask: t\nseed: -1\n", "'seed' must be non-negative"),
        ("algo: ppo\ntask: t\ntotal_steps: lots\n", "'total_steps' must be an integer"),
        ("algo: ppo\ntask: t\nnum_envs: true\n", "'num_envs' must be an integer"),
        ("algo: ppo\ntask: t\nnum_threads: 0\n", "'num_threads' must be positive"),
        ("algo: ppo\ntask: t\nenv: [1]\n", "'env' must be a mapping"),
        ("algo: ppo\ntask: t\nvector: threads\n", "'vector' must be 'sync' or 'async'"),
        (
            "algo: ppo\ntask: t\nvector_workers: 1\n",
            "'vector_workers' \\(1\\) must be below num_envs",
        ),
        ("algo: 3\ntask: t\n", "'algo' must be a non-empty string"),
        ("algo: ppo\ntask: [t\n", "malformed YAML"),
    ],
)
def test_bad_files(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as info:
        load_config(path)
    assert "\n" not in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(ValueError, match="file not found: .*nope.yaml"):
        load_config(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("seed", "expects key=value"),
        ("=3", "expects key=value"),
        ("bogus=1", "unknown config key 'bogus'"),
        ("optim.lr=1", "must start with 'algo.' or 'env.'"),
    ],
)
def test_bad_set(assignment, message):
    with pytest.raises(ValueError, match=message):
        apply_set({}, assignment)


def test_round_trip_through_dict():
    cfg = TrainConfig(algo="ppo", task="t", algo_config={"n_steps": 8}, label="x")
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
