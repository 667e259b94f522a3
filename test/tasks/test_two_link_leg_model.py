"""The 2R leg's torch model (URDF rigid-body dynamics) against the PyBullet env."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rl_control.envs.two_link_leg import TwoLinkLegEnv
from rl_control.robot.planar_dynamics import PlanarChain
from rl_control.tasks import two_link_leg as leg
from rl_control.tasks.registry import make_task
from rl_control.tasks.two_link_leg_model import chain

#: measured worst errors over 5 open-loop rollouts of 100 steps of uniform ±4 N·m torques
#: (clipped to ±3): 1.1e-7 rad and 3.5e-6 rad/s (default leg), 1.1e-8 / 7.4e-8 (the variant);
#: PyBullet keeps link offsets in float32 (0.15 m is 0.15000000596), hence not 1e-12
Q_TOL, QD_TOL = 1e-6, 5e-5
VARIANT = {"joint_damping": 0.05, "thigh_mass": 0.4, "shank_length": 0.17}


def _rollout_errors(overrides: dict, steps: int, episodes: int = 3) -> tuple[float, float]:
    task, env = make_task("two_link_leg", overrides), TwoLinkLegEnv(**overrides)
    f, rng = task.dynamics(), np.random.default_rng(1)
    worst_q = worst_qd = 0.0
    try:
        for ep in range(episodes):
            env.reset(seed=ep)
            x = torch.as_tensor(np.concatenate([env.state, [0.0]]))[None]
            for _ in range(steps):
                a = rng.uniform(-4, 4, 2)
                env.step(a)
                x = f(x, torch.as_tensor(a)[None])
            err = np.abs(x[0, :4].numpy() - env.state)
            worst_q, worst_qd = max(worst_q, err[:2].max()), max(worst_qd, err[2:].max())
            assert float(x[0, 4]) == pytest.approx(env.time, abs=1e-12)
    finally:
        env.close()
    return worst_q, worst_qd


@pytest.mark.parametrize("overrides", [{}, VARIANT], ids=["default", "variant"])
def test_open_loop_rollout_matches_pybullet(overrides):
    q_err, qd_err = _rollout_errors(overrides, steps=100)
    assert q_err < Q_TOL and qd_err < QD_TOL, (q_err, qd_err)


def test_damping_is_applied_and_read_from_the_urdf():
    model = chain(leg.TwoLinkLegParams(**VARIANT))
    assert model.damping.tolist() == [0.05, 0.05]
    assert model.mass.tolist() == [0.4, 0.15]
    # the env's damping acts: a free leg without gravity slows down
    env = TwoLinkLegEnv(joint_damping=0.05, gravity=0.0)
    env.reset(options={"state": [0.0, 0.0, 10.0, 0.0]})
    for _ in range(20):
        env.step(np.zeros(2))
    env.close()
    assert abs(env.state[2]) < 9.0


def test_mass_matrix_equals_the_textbook_2r_formula():
    p = leg.TwoLinkLegParams()
    model = chain(p)
    q = torch.tensor([[0.3, -1.1], [-0.7, 0.4]], dtype=torch.float64)
    m1, m2, l1 = p.thigh_mass, p.shank_mass, p.thigh_length
    c1, c2 = p.thigh_length / 2, p.shank_length / 2
    i1, i2 = m1 * p.thigh_length**2 / 12, m2 * p.shank_length**2 / 12
    cos2 = torch.cos(q[:, 1])
    m11 = i1 + i2 + m1 * c1**2 + m2 * (l1**2 + c2**2 + 2 * l1 * c2 * cos2)
    m12 = i2 + m2 * (c2**2 + l1 * c2 * cos2)
    expected = torch.stack(
        [
            torch.stack([m11, m12], -1),
            torch.stack([m12, torch.full_like(m12, i2 + m2 * c2**2)], -1),
        ],
        -2,
    )
    torch.testing.assert_close(model.mass_matrix(q), expected, rtol=1e-6, atol=0)


def test_differentiable_step_rewards_as_the_env_and_has_true_gradients():
    task = make_task("two_link_leg")
    step = task.differentiable_step()
    env = TwoLinkLegEnv()
    env.reset(seed=3)
    state = torch.as_tensor(np.concatenate([env.state, [0.0]]))
    action = torch.tensor([0.8, -0.5], dtype=torch.float64, requires_grad=True)
    _, env_reward, *_ = env.step(action.detach().numpy())
    env.close()
    nxt, r, term = step(state[None], action[None])
    r_value = float(r.detach()[0])
    assert r_value == pytest.approx(env_reward, abs=1e-6) and not bool(term[0])
    (grad,) = torch.autograd.grad(r.sum(), action)
    eps, fd = 1e-6, []
    for i in range(2):
        d = torch.zeros(2, dtype=torch.float64)
        d[i] = eps
        hi = step(state[None], (action + d)[None])[1]
        lo = step(state[None], (action - d)[None])[1]
        fd.append(float((hi - lo).detach()[0]) / (2 * eps))
    assert grad.tolist() == pytest.approx(fd, rel=1e-4, abs=1e-9)
    assert math.isfinite(float(grad.abs().sum())) and float(grad.abs().sum()) > 0


def test_non_planar_urdf_is_refused():
    urdf = """<robot name="r"><link name="a"/><link name="b"><inertial><mass value="1"/>
      <inertia ixx="1" iyy="1" izz="1"/></inertial></link><link name="c"/>
      <joint name="j1" type="revolute"><parent link="a"/><child link="b"/><axis xyz="0 1 0"/>
      <limit lower="-1" upper="1" effort="1" velocity="1"/></joint>
      <joint name="j2" type="continuous"><parent link="b"/><child link="c"/>
      <axis xyz="1 0 0"/></joint></robot>"""
    with pytest.raises(ValueError, match="j2.*not parallel"):
        PlanarChain(urdf, ("j1", "j2"), (0, 0, -9.81))
    with pytest.raises(ValueError, match="no joint"):
        PlanarChain(urdf, ("j1", "j3"), (0, 0, -9.81))
