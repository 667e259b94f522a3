"""SAC: soft targets, temperature tuning, Polyak averaging, persistence, learning."""

import copy
import math

import numpy as np
import pytest
import torch
from algo_toys import evaluate, train

from rl_control.algorithms.registry import make_algorithm
from rl_control.algorithms.replay_buffer import ReplayBuffer
from rl_control.algorithms.sac import SAC, SACConfig, soft_q_target
from rl_control.algorithms.spec import AlgorithmSpec

LOW, HIGH = np.array([-2.0]), np.array([2.0])


def test_soft_q_target_by_hand() -> None:
    y = soft_q_target(
        rewards=torch.tensor([1.0, -0.5]),
        terminated=torch.tensor([0.0, 1.0]),
        next_q1=torch.tensor([2.0, 7.0]),
        next_q2=torch.tensor([3.0, 9.0]),
        next_log_prob=torch.tensor([-1.0, 4.0]),
        alpha=0.2,
        gamma=0.9,
    )
    # 1 + 0.9 * (min(2, 3) - 0.2 * -1) = 2.98; terminal: reward only
    torch.testing.assert_close(y, torch.tensor([2.98, -0.5]))


def _sac(**cfg) -> SAC:
    base = dict(learning_starts=8, batch_size=8, hidden=[16, 16])
    return SAC.build(
        AlgorithmSpec(2, np.array([-2.0, 0.0]), np.array([2.0, 1.0]), 2),
        SACConfig(**{**base, **cfg}),
        0,
    )


def _fill(algo: SAC, steps: int) -> None:
    rng = np.random.default_rng(0)
    for _ in range(steps):
        obs = rng.normal(size=(2, 2))
        out = algo.act(obs)
        algo.record(obs, out, rng.normal(size=2), np.array([False, True]), np.zeros(2), obs + 1)


def test_warmup_actions_are_uniform_and_ready_waits_for_learning_starts() -> None:
    algo = _sac(learning_starts=6)
    out = algo.act(np.zeros((2000, 2)))
    assert out.action[:, 0].min() >= -2 and out.action[:, 1].max() <= 1
    assert abs(out.action[:, 1].mean() - 0.5) < 0.03
    np.testing.assert_allclose(out.log_prob, -2 * math.log(2.0))
    _fill(algo, 2)
    assert not algo.ready()
    _fill(algo, 1)
    assert algo.ready()
    critic = [p.detach().clone() for p in algo.critic.parameters()]
    stats = algo.update()
    assert algo.policy_version == 1 and not algo.ready()  # train_freq = 1 vector step
    assert all(math.isfinite(v) for v in stats.values()) and stats["alpha"] != 1.0
    moved = zip(critic, algo.critic.parameters(), strict=True)
    assert all(not torch.equal(a, b) for a, b in moved)


def test_gradient_step_uses_soft_target_and_polyak_averaging() -> None:
    algo = _sac(tau=0.25)
    _fill(algo, 8)
    critic = [p.detach().clone() for p in algo.critic.parameters()]
    target = [p.detach().clone() for p in algo.critic_target.parameters()]
    algo.gradient_step()
    for p, t_old, p_new, t_new in zip(
        critic, target, algo.critic.parameters(), algo.critic_target.parameters(), strict=True
    ):
        torch.testing.assert_close(t_new, t_old + 0.25 * (p_new.detach() - t_old))
        assert not torch.equal(p, p_new)
    # the stored terminal flag reached the buffer and alpha moved towards target entropy
    assert algo.buffer.terminated[:16].tolist() == [0.0, 1.0] * 8
    assert algo.target_entropy == -2.0 and float(algo.log_alpha.detach()) != 0.0


def test_temperature_step_is_adam_on_the_closed_form_gradient() -> None:
    # d/d log α of −log α · mean(log π + H̄) is mean(entropy) − H̄; Adam's first step moves
    # log α by lr against its sign, and the reported loss is log α (0 here) times it
    algo = _sac(learning_rate=1e-2)
    _fill(algo, 8)
    stats = algo.gradient_step()
    grad = stats["entropy"] - algo.target_entropy
    assert float(algo.log_alpha.detach()) == pytest.approx(-1e-2 * math.copysign(1.0, grad))
    assert stats["alpha_loss"] == 0.0 and float(algo.log_alpha.grad) == pytest.approx(grad)


def test_fixed_entropy_coefficient_and_bad_config() -> None:
    algo = _sac(ent_coef=0.05)
    assert "alpha" not in algo.optimizers and math.isclose(
        float(algo.log_alpha.exp()), 0.05, rel_tol=1e-6
    )
    with pytest.raises(ValueError, match="ent_coef must be 'auto' or a number"):
        SACConfig(ent_coef="lots")


def test_state_dict_round_trip() -> None:
    a = _sac()
    _fill(a, 10)
    a.update()
    b = _sac(tau=0.5)  # differently configured networks are fully overwritten
    b.load_state_dict(a.state_dict())
    b.config = a.config
    b.buffer = copy.deepcopy(a.buffer)  # buffers are not checkpointed; copy to compare
    obs = np.ones((2, 2))
    for algo in (a, b):
        out = algo.act(obs)
        algo.record(obs, out, np.ones(2), np.zeros(2), np.zeros(2), obs)
    assert a.update() == b.update()
    for pa, pb in zip(a.critic_target.parameters(), b.critic_target.parameters(), strict=True):
        torch.testing.assert_close(pa, pb)
    assert b.num_timesteps == a.num_timesteps and b.policy_version == a.policy_version
    with pytest.raises(ValueError, match="not 'sac'"):
        b.load_state_dict({**a.state_dict(), "algorithm": "ppo"})


def test_sac_learns_point_mass() -> None:
    cfg = {"hidden": [64, 64], "batch_size": 64, "learning_starts": 200, "learning_rate": 1e-3}
    algo = make_algorithm("sac", AlgorithmSpec(2, LOW, HIGH, 4), cfg, seed=0)
    before = evaluate(algo.policy)
    train(algo, num_envs=4, total_steps=2_400, seed=0)
    after = evaluate(algo.policy)
    assert after > before + 15.0 and after > 36.0, (before, after)


def test_replay_buffer_samples_whole_transitions() -> None:
    from rl_control.algorithms.replay_buffer import ReplayBuffer

    buf = ReplayBuffer(5, 3, 2)
    for i in range(7):  # wraps: rows hold transitions 5, 6, 2, 3, 4
        buf.add(np.full((1, 3), i), np.full((1, 2), -i), np.array([10.0 * i]),
                np.full((1, 3), i + 0.5), np.array([i % 2]))  # fmt: skip
    assert buf.rewards.tolist() == [50.0, 60.0, 20.0, 30.0, 40.0] and len(buf) == 5
    batch = buf.sample(64, torch.Generator().manual_seed(0))
    i = batch["obs"][:, 0]
    assert set(i.tolist()) == {2.0, 3.0, 4.0, 5.0, 6.0}
    torch.testing.assert_close(batch["obs"], i[:, None].expand(64, 3))
    torch.testing.assert_close(batch["actions"], -i[:, None].expand(64, 2))
    torch.testing.assert_close(batch["next_obs"], i[:, None].expand(64, 3) + 0.5)
    torch.testing.assert_close(batch["rewards"], 10 * i)
    torch.testing.assert_close(batch["terminated"], i % 2)


def test_actor_step_leaves_critic_without_gradients_but_trainable() -> None:
    algo = SAC.build(
        AlgorithmSpec(2, LOW, HIGH, 1), SACConfig(learning_starts=0, batch_size=8), seed=0
    )
    rng = np.random.default_rng(0)
    for _ in range(16):
        obs = rng.normal(size=(1, 2))
        out = algo.act(obs)
        algo.record(obs, out, rng.normal(size=1), np.zeros(1), np.zeros(1), obs + 0.1)
    stats = algo.update()
    assert set(stats) == {"critic_loss", "actor_loss", "alpha", "alpha_loss", "entropy", "q"}
    assert all(math.isfinite(v) for v in stats.values())
    # reference: the same step with the critic's weight gradients formed in the actor pass
    ref = copy.deepcopy(algo)
    ref._critic_params = []  # nothing toggled
    ref.config.target_update_interval = 10**9  # no Polyak step there (targets not compared)
    algo.gradient_step()
    ref.gradient_step()
    assert all(p.requires_grad for p in algo.critic.parameters())
    for mine, theirs in ((algo.policy, ref.policy), (algo.critic, ref.critic)):
        for a, b in zip(mine.parameters(), theirs.parameters(), strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=1e-7)
    # only the reference carries the discarded actor-loss gradients on the critic
    assert any(
        not torch.allclose(a.grad, b.grad)
        for a, b in zip(algo.critic.parameters(), ref.critic.parameters(), strict=True)
    )


class FixedBatchBuffer:
    """A TransitionBuffer that hands out one fixed batch and counts what SAC does with it."""

    def __init__(self, batch: dict[str, torch.Tensor]) -> None:
        self.batch, self.added, self.sampled = batch, 0, 0

    def __len__(self) -> int:
        return len(self.batch["obs"])

    def add(self, obs, actions, rewards, next_obs, terminated) -> None:  # noqa: ANN001
        self.added += len(obs)

    def sample(self, batch_size: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        self.sampled += 1
        return self.batch


def _spec(num_envs: int = 1) -> AlgorithmSpec:
    return AlgorithmSpec(2, np.array([-2.0, 0.0]), np.array([2.0, 1.0]), num_envs)


def test_an_outside_buffer_is_the_one_recorded_into_and_sampled_from() -> None:
    cfg = dict(learning_starts=0, batch_size=8, hidden=[16, 16])
    shared = ReplayBuffer(100, 2, 2)
    rng = np.random.default_rng(0)
    for _ in range(20):  # filled elsewhere (e.g. another learner's data)
        shared.add(rng.normal(size=(1, 2)), rng.uniform(-1, 1, (1, 2)), rng.normal(size=1),
                   rng.normal(size=(1, 2)), np.zeros(1))  # fmt: skip
    own = SAC.build(_spec(), cfg, seed=0)
    own.buffer = copy.deepcopy(shared)  # reference: the same data in its own buffer
    algo = SAC.build(_spec(), cfg, seed=0, buffer=shared)
    assert algo.buffer is shared and len(SAC.build(_spec(), cfg, 0).buffer) == 0
    obs = np.ones((1, 2))
    for sac in (algo, own):
        sac.record(obs, sac.act(obs), np.ones(1), np.zeros(1), np.zeros(1), obs)
    assert len(shared) == 21
    assert algo.update() == own.update()  # the same batches: drawn from the given buffer


def test_critic_loss_falls_on_a_fixed_batch() -> None:
    g = torch.Generator().manual_seed(0)
    batch = {
        "obs": torch.randn(32, 2, generator=g), "actions": torch.rand(32, 2, generator=g) * 2 - 1,
        "rewards": torch.randn(32, generator=g), "next_obs": torch.randn(32, 2, generator=g),
        "terminated": torch.zeros(32),
    }  # fmt: skip
    buffer = FixedBatchBuffer(batch)
    cfg = dict(learning_starts=0, batch_size=32, hidden=[32, 32], learning_rate=1e-3)
    algo = SAC.build(_spec(), cfg, seed=0, buffer=buffer)
    losses = [algo.gradient_step()["critic_loss"] for _ in range(200)]
    assert buffer.sampled == 200
    assert np.mean(losses[-10:]) < 0.3 * np.mean(losses[:10]), (losses[:3], losses[-3:])
    obs = np.zeros((1, 2))
    algo.record(obs, algo.act(obs), np.ones(1), np.zeros(1), np.zeros(1), obs)
    assert buffer.added == 1


def test_uniform_exploration_lasts_until_learning_starts() -> None:
    spec = AlgorithmSpec(3, [-2.0], [2.0], 1)
    sac = SAC.build(spec, {"learning_starts": 5, "hidden": [8]}, seed=0)
    obs = np.zeros((1, 3))
    for _ in range(5):
        assert sac.uniform_exploration
        out = sac.act(obs)
        assert -2.0 <= out.action[0, 0] <= 2.0 and out.log_prob[0] == -np.log(2.0)
        sac.record(obs, out, np.zeros(1), np.zeros(1), np.zeros(1), obs)
    assert not sac.uniform_exploration
