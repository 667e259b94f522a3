"""The in-process runner on a tiny env with the real algorithms."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from conftest import make_point_mass

from rl_control.training.checkpoint import load_checkpoint
from rl_control.training.config import TrainConfig
from rl_control.training.metrics import read_metrics
from rl_control.training.runner import Runner

PPO_SMALL = {"n_steps": 64, "batch_size": 64, "n_epochs": 2}


def _config(run_dir, **kw) -> TrainConfig:
    base = dict(
        algo="ppo", task="point_mass", num_envs=2, total_steps=512, seed=1,
        algo_config=dict(PPO_SMALL), eval_every=256, eval_episodes=2, checkpoint_every=256,
        log_every=1, run_dir=None if run_dir is None else str(run_dir),
    )  # fmt: skip
    base.update(kw)
    return TrainConfig(**base)


def _train(config: TrainConfig, resume: bool = False, tensorboard: bool = False) -> dict:
    return Runner(
        config, resume=resume, tensorboard=tensorboard, env_factory=make_point_mass
    ).train()


def test_run_folder_is_complete(tmp_path):
    run = tmp_path / "run"
    summary = _train(_config(run), tensorboard=True)
    names = {p.name for p in run.iterdir()}
    assert names == {"config.yaml", "checkpoint.pt", "metrics.csv", "tensorboard",
                     "learning_curve.png"}  # fmt: skip
    assert any((run / "tensorboard").iterdir())
    assert (run / "learning_curve.png").read_bytes()[:4] == b"\x89PNG"
    cols = read_metrics(run / "metrics.csv")
    # row 0 evaluates the untrained policy; then one row per update (64 steps x 2 envs)
    assert cols["env_steps"] == [0, 128, 256, 384, 512]
    assert cols["updates"] == [0, 1, 2, 3, 4]
    assert np.isfinite(cols["eval_return_mean"][0]) and np.isfinite(cols["eval_return_mean"][-1])
    assert np.isnan(cols["eval_return_mean"][1])  # eval_every=256
    assert np.isfinite(cols["policy_loss"][1:]).all()
    ckpt = load_checkpoint(run)
    assert (ckpt["env_steps"], ckpt["updates"], ckpt["task"]) == (512, 4, "point_mass")
    assert summary["env_steps"] == 512
    assert summary["eval_return_mean"] == cols["eval_return_mean"][-1]


def test_same_seed_same_run(tmp_path):
    a = read_metrics(_train(_config(tmp_path / "a"))["run_dir"] + "/metrics.csv")
    b = read_metrics(_train(_config(tmp_path / "b"))["run_dir"] + "/metrics.csv")
    c = read_metrics(_train(_config(tmp_path / "c", seed=2))["run_dir"] + "/metrics.csv")
    np.testing.assert_array_equal(a["policy_loss"][1:], b["policy_loss"][1:])
    assert a["eval_return_mean"][-1] == b["eval_return_mean"][-1]
    assert a["eval_return_mean"][-1] != c["eval_return_mean"][-1]


def test_async_vector_envs_give_the_sync_run(tmp_path):
    """Envs in two worker processes: every metric (losses, episode returns, evaluations) is
    the one-process run's, and a resume may switch between the two."""
    kw = dict(task="soft_wall_cartpole", env={"max_steps": 40}, total_steps=384, eval_every=128,
              checkpoint_every=0)  # fmt: skip
    runs = {}
    for mode in ("sync", "async"):
        config = _config(tmp_path / mode, vector=mode, **kw)
        Runner(config, tensorboard=False).train()
        runs[mode] = read_metrics(tmp_path / mode / "metrics.csv")
    assert runs["async"]["episodes"][-1] > 10  # auto-resets happened in the workers
    for name, column in runs["sync"].items():
        if name not in ("wall_time", "steps_per_s"):
            np.testing.assert_array_equal(runs["async"][name], column, err_msg=name)
    again = _config(tmp_path / "sync", vector="async", **{**kw, "total_steps": 512})
    Runner(again, resume=True, tensorboard=False).train()  # the same settings: no refusal


def test_resume_continues_step_count_and_is_deterministic(tmp_path):
    run = tmp_path / "run"
    _train(_config(run, total_steps=256))
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    _train(_config(run, total_steps=512), resume=True)
    _train(_config(copy, total_steps=512), resume=True)
    ckpt = load_checkpoint(run)
    assert (ckpt["env_steps"], ckpt["updates"]) == (512, 4)
    cols = read_metrics(run / "metrics.csv")
    assert cols["env_steps"] == [0, 128, 256, 384, 512]  # no step logged twice
    assert cols["wall_time"] == sorted(cols["wall_time"])
    other = read_metrics(copy / "metrics.csv")
    assert cols["policy_loss"][3:] == other["policy_loss"][3:]
    with pytest.raises(ValueError, match="already has 512 env steps"):
        _train(_config(run, total_steps=512), resume=True)
    with pytest.raises(ValueError, match="holds algo 'ppo', not 'trpo'"):
        _train(_config(run, algo="trpo", algo_config={}, total_steps=1024), resume=True)


def test_resume_refuses_other_settings_unless_forced(tmp_path):
    run = tmp_path / "run"
    _train(_config(run, total_steps=256))
    changed = _config(run, total_steps=512, num_envs=4, seed=2)
    with pytest.raises(ValueError, match=r"config differs \(num_envs 2 -> 4; seed 1 -> 2\)"):
        _train(changed, resume=True)
    assert load_checkpoint(run)["env_steps"] == 256  # untouched
    Runner(
        changed, resume=True, force=True, tensorboard=False, env_factory=make_point_mass
    ).train()
    assert load_checkpoint(run)["env_steps"] == 512


def test_new_runs_never_reuse_a_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = _train(_config(None, total_steps=128))["run_dir"]
    second = _train(_config(None, total_steps=128))["run_dir"]
    assert (first, second) == ("runs/ppo_point_mass_seed1", "runs/ppo_point_mass_seed1_2")


class _Interrupt:
    """An env factory whose envs raise KeyboardInterrupt (Ctrl-C) once, at one env step."""

    def __init__(self, at: int) -> None:
        self.at, self.steps, self.fired = at, 0, False

    def __call__(self, task: str, seed=None, **params):
        env = make_point_mass(task, seed, **params)
        step = env.step

        def interrupting(action):
            self.steps += 1
            if self.steps == self.at and not self.fired:
                self.fired = True
                raise KeyboardInterrupt
            return step(action)

        env.step = interrupting
        return env


@pytest.mark.parametrize("algo", ["ppo", "trpo"])
def test_interrupted_and_resumed_equals_uninterrupted(tmp_path, algo):
    """Ctrl-C in the middle of a rollout loses nothing and counts nothing twice: the resumed
    run (envs replayed, rollout collected again) writes the uninterrupted run's rows."""
    kw = dict(algo=algo, total_steps=640, eval_every=256, checkpoint_every=0)
    if algo == "trpo":
        kw["algo_config"] = {"n_steps": 64}
    _train(_config(tmp_path / "whole", **kw))
    # 600 env.step calls: two evaluations (2 x 50 steps each, at steps 0 and 256) and 400
    # training steps: Ctrl-C in the 4th rollout (384..512), 16 steps after its start
    interrupt = _Interrupt(at=600)
    cut = _config(tmp_path / "cut", **kw)
    with pytest.raises(KeyboardInterrupt):
        Runner(cut, tensorboard=False, env_factory=interrupt).train()
    saved = load_checkpoint(tmp_path / "cut")
    assert (saved["env_steps"], saved["updates"]) == (384, 3)  # the last completed update
    Runner(cut, resume=True, tensorboard=False, env_factory=interrupt).train()
    whole, resumed = (read_metrics(tmp_path / r / "metrics.csv") for r in ("whole", "cut"))
    assert whole.keys() == resumed.keys() and whole["env_steps"] == [0, 128, 256, 384, 512, 640]
    for key in set(whole) - {"wall_time", "steps_per_s"}:
        np.testing.assert_array_equal(resumed[key], whole[key], err_msg=key)
    a, b = load_checkpoint(tmp_path / "whole"), load_checkpoint(tmp_path / "cut")
    assert [a[k] for k in ("env_steps", "episodes", "updates")] == [
        b[k] for k in ("env_steps", "episodes", "updates")
    ]
    for name, value in a["policy"]["state"].items():
        if isinstance(value, torch.Tensor):
            torch.testing.assert_close(b["policy"]["state"][name], value, rtol=0, atol=0)


def test_warm_start_trpo_then_ppo(tmp_path):
    trpo = _config(tmp_path / "trpo", algo="trpo", algo_config={"n_steps": 64})
    _train(trpo)
    trpo_eval = read_metrics(tmp_path / "trpo/metrics.csv")
    ppo = _config(tmp_path / "ppo", init_from=str(tmp_path / "trpo"), total_steps=128)
    ppo_eval = read_metrics(_train(ppo)["run_dir"] + "/metrics.csv")
    # PPO's step-0 evaluation is the TRPO policy's last one: same deterministic policy
    assert ppo_eval["eval_return_mean"][0] == trpo_eval["eval_return_mean"][-1]
    cold = read_metrics(_train(_config(tmp_path / "cold", total_steps=128))["run_dir"]
                        + "/metrics.csv")  # fmt: skip
    assert cold["eval_return_mean"][0] != ppo_eval["eval_return_mean"][0]


def test_sac_rows_are_throttled_by_log_every(tmp_path):
    cfg = _config(
        tmp_path / "sac", algo="sac", total_steps=300, log_every=100, eval_every=0,
        algo_config={"learning_starts": 50, "batch_size": 32, "hidden": [16, 16]},
    )  # fmt: skip
    _train(cfg)
    cols = read_metrics(tmp_path / "sac/metrics.csv")
    assert cols["env_steps"] == [0, 100, 200, 300]
    assert cols["updates"][-1] >= 100  # SAC updated every vectorised step after warm-up
    assert np.isfinite(cols["eval_return_mean"][-1])  # final evaluation even with eval_every=0


def test_nan_observation_is_a_clear_error(tmp_path):
    cfg = _config(tmp_path / "nan", env={"nan_at": 100})
    with pytest.raises(ValueError, match=r"non-finite observation at env step \d+"):
        _train(cfg)
    assert not (tmp_path / "nan/checkpoint.pt").exists()


def test_bad_names_leave_no_run_folder(tmp_path):
    with pytest.raises(ValueError, match="unknown algorithm 'ppp'"):
        _train(_config(tmp_path / "x", algo="ppp"))
    with pytest.raises(ValueError, match="unknown task 'cart'"):
        _train(_config(tmp_path / "x", task="cart"))
    with pytest.raises(ValueError, match="unknown config key"):
        _train(_config(tmp_path / "x", algo_config={"learning_rat": 1e-3}))
    assert not (tmp_path / "x").exists()


def test_refuses_to_overwrite_a_run(tmp_path):
    run = tmp_path / "run"
    _train(_config(run, total_steps=128))
    before = (run / "checkpoint.pt").read_bytes()
    with pytest.raises(ValueError, match="already exists and is not empty .*; use --resume"):
        _train(_config(run, total_steps=128))
    assert (run / "checkpoint.pt").read_bytes() == before


def test_nan_action_is_a_clear_error(tmp_path):
    from rl_control.algorithms.registry import make_algorithm

    def diverging(*args):
        algo = make_algorithm(*args)
        act = algo.act

        def act_nan(obs):
            out = act(obs)
            out.action[:] = np.nan  # what a diverged policy network produces
            return out

        algo.act = act_nan
        return algo

    runner = Runner(
        _config(tmp_path / "r"), tensorboard=False, env_factory=make_point_mass,
        algorithm_factory=diverging,
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"non-finite action at env step 0"):
        runner.train()
    assert not (tmp_path / "r/checkpoint.pt").exists()


def test_num_threads_is_applied_while_training_and_put_back(tmp_path):
    from rl_control.algorithms.registry import make_algorithm

    seen = []

    def counting_factory(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return make_algorithm(*args, **kwargs)

    before = torch.get_num_threads()
    threads = before + 1  # differs from the suite's OMP_NUM_THREADS=1
    config = _config(tmp_path / "run", total_steps=128, num_threads=threads)
    Runner(
        config, tensorboard=False, env_factory=make_point_mass, algorithm_factory=counting_factory
    ).train()
    assert seen == [threads]
    assert torch.get_num_threads() == before
