"""The 2R leg's exact model in torch: the task facts ``dynamics`` and ``differentiable``.

The rigid-body dynamics come from the leg's URDF (exported from the PyBullet body the env
builds, so masses, inertias, joint offsets and the damping the env applies are the simulated
ones) through :class:`~rl_control.robot.planar_dynamics.PlanarChain`. A step does what the
env does: the torque is clipped to ±max_torque, viscous damping acts on the current joint
rates, and the state advances by one semi-implicit Euler step of ``dt`` (q̇' = q̇ + dt q̈,
q' = q + dt q̇', Bullet's multibody integrator; explicit Euler is off by ~4e-2 rad/s per
step); the time advances by ``dt``. State (q_hip, q_knee, q̇_hip, q̇_knee, t), batched torch.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

import torch

from rl_control.tasks import two_link_leg as leg

if TYPE_CHECKING:
    from rl_control.robot.planar_dynamics import PlanarChain


@functools.lru_cache(maxsize=8)
def chain(params: leg.TwoLinkLegParams) -> PlanarChain:
    """The leg's PlanarChain from the URDF of the env's body at ``params`` (built once)."""
    from rl_control.envs.two_link_leg import TwoLinkLegEnv
    from rl_control.robot.description import robot_description
    from rl_control.robot.planar_dynamics import PlanarChain

    env = TwoLinkLegEnv(params)
    try:
        urdf = robot_description(env, leg.JOINT_NAMES)
    finally:
        env.close()
    return PlanarChain(urdf, leg.JOINT_NAMES, (0.0, 0.0, -params.gravity))


class LegDynamics:
    """x' = f(x, u) of the leg: x [..., 5] task states, u [..., 2] torques (float64)."""

    def __init__(self, params: leg.TwoLinkLegParams) -> None:
        self.params, self.chain = params, chain(params)

    def __call__(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        p = self.params
        x, u = x.to(torch.float64), u.to(torch.float64)
        q, qd = leg.LAYOUT.get(x, "q_hip", "q_knee"), leg.LAYOUT.get(x, "qd_hip", "qd_knee")
        tau = u.clamp(-p.max_torque, p.max_torque)
        qd2 = qd + p.dt * self.chain.forward_dynamics(q, qd, tau)
        t2 = leg.LAYOUT.get(x, "t") + p.dt
        return torch.cat([q + p.dt * qd2, qd2, t2[..., None]], -1)


def differentiable_step(
    params: leg.TwoLinkLegParams,
) -> Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """``step(state, action) -> (next state, reward, terminated)`` as the env steps."""
    f = LegDynamics(params)

    def step(state: torch.Tensor, action: torch.Tensor) -> tuple[torch.Tensor, ...]:
        nxt = f(state, action)
        joints = leg.LAYOUT.get(nxt, "q_hip", "qd_knee")
        r = leg.reward(joints, leg.LAYOUT.get(nxt, "t"), params)
        return nxt, r, leg.terminated(joints, params)

    return step
