"""Soft-wall cart-pole (Bui, You & Duan, "PPO with MPC-based policy"; Aydinoglu et al.).

A cart on a rail carries a pole hinged at its top; two soft walls at x = ±wall_distance push
on the pole's tip with force k·penetration. State s = (x, θ, ẋ, θ̇), positions first as in
Drake; θ = 0 is upright and positive θ tilts the tip towards +x. Action: horizontal force on
the cart in [-100, 100] N. Control and physics step dt = 0.01 s.

Everything here is a pure function of arrays that works on numpy arrays and on torch
tensors alike (batched over leading axes), so the env, the MPC model and the ROS nodes
share one definition of reward, termination and dynamics. :func:`differentiable_step` is the
task's smooth-contact model in torch (nonlinear rigid-body dynamics, softplus-smoothed
walls, the same reward and termination), the ``differentiable`` fact that RP, LR+RP and
GI-PPO back-propagate through.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from rl_control.tasks.base import StateLayout, TaskDefinition, joint_indices
from rl_control.tasks.lcs import LCS

if TYPE_CHECKING:  # torch is imported only where a tensor is handed in (nodes stay light)
    import torch

    from rl_control.robot.sensors import SensorReadings

JOINT_NAMES = ("cart_slider", "pole_hinge")
LAYOUT = StateLayout((("x", 1), ("theta", 1), ("x_dot", 1), ("theta_dot", 1)))
STATE_NAMES = LAYOUT.names
#: reward weights on (x, θ, ẋ, θ̇): r = 15 − sᵀ diag(Q) s − R a²
STATE_COST = (20.0, 20.0, 0.1, 0.1)
ACTION_COST = 1e-3
ALIVE_BONUS = 15.0


@dataclass(frozen=True)
class SoftWallCartPoleParams:
    """Physical and task parameters (SI units). Masses/lengths follow Aydinoglu et al."""

    cart_mass: float = 0.978
    pole_mass: float = 0.411
    pole_length: float = 0.6  # pivot to tip: where the walls push
    pole_com: float = 0.4267  # pivot to the pole's centre of mass
    pole_inertia: float = 0.411 * 0.6**2 / 12.0  # about the centre of mass
    gravity: float = 9.81
    wall_distance: float = 0.35
    wall_stiffness: float = 700.0
    max_force: float = 100.0
    dt: float = 0.01
    max_steps: int = 400
    x_limit: float = 0.5
    theta_limit: float = math.pi / 4
    # reset distribution: uniform in ±init_range, per state component
    init_range: tuple[float, float, float, float] = (0.1, 0.2, 0.5, 1.0)
    # width δ [m] of the differentiable model's softplus walls (off by at most k·δ·ln 2 N)
    contact_smoothing: float = 1e-3

    def __post_init__(self) -> None:
        for name in ("cart_mass", "pole_mass", "pole_length", "pole_com", "dt", "max_force"):
            if not getattr(self, name) > 0:
                raise ValueError(f"SoftWallCartPoleParams.{name} must be > 0")
        if self.wall_stiffness <= 0 or self.wall_distance <= 0:
            raise ValueError("SoftWallCartPoleParams: walls need positive stiffness and distance")
        if not self.contact_smoothing > 0:
            raise ValueError("SoftWallCartPoleParams.contact_smoothing must be > 0")


def reward_terms(state: Any, action: Any) -> dict[str, Any]:
    """Reward split into its terms; sum them for the reward. Works batched, numpy or torch."""
    if isinstance(state, np.ndarray) and state.ndim == 1:
        # one env step: plain floats are ~10x cheaper than numpy on 4-vectors
        s, a = state.tolist(), float(action[0])
        cost = sum(w * v * v for w, v in zip(STATE_COST, s, strict=True))
        return {"alive": ALIVE_BONUS, "state_cost": -cost, "action_cost": -ACTION_COST * a * a}
    state_cost = sum(w * state[..., i] ** 2 for i, w in enumerate(STATE_COST))
    return {
        "alive": ALIVE_BONUS + 0.0 * state[..., 0],
        "state_cost": -state_cost,
        "action_cost": -ACTION_COST * action[..., 0] ** 2,
    }


def reward(state: Any, action: Any) -> Any:
    """r(s, a) = 15 − sᵀ diag(20, 20, 0.1, 0.1) s − 1e-3 a²."""
    terms = reward_terms(state, action)
    return terms["alive"] + terms["state_cost"] + terms["action_cost"]


def terminated(state: Any, params: SoftWallCartPoleParams = SoftWallCartPoleParams()) -> Any:
    """True where the cart or the pole has left its safe range."""
    if isinstance(state, np.ndarray) and state.ndim == 1:
        return abs(float(state[0])) > params.x_limit or abs(float(state[1])) > params.theta_limit
    return (abs(state[..., 0]) > params.x_limit) | (abs(state[..., 1]) > params.theta_limit)


def observation(state: Any) -> Any:
    """The policy observes the full state."""
    return state


def tip_x(state: Any, params: SoftWallCartPoleParams = SoftWallCartPoleParams()) -> Any:
    """Horizontal position of the pole tip (exact, not linearised)."""
    sin = np.sin if isinstance(state, np.ndarray) else type(state).sin
    return state[..., 0] + params.pole_length * sin(state[..., 1])


def wall_forces(state: Any, params: SoftWallCartPoleParams = SoftWallCartPoleParams()) -> Any:
    """Wall force magnitudes (λ_right, λ_left) = k·max(penetration, 0), numpy [..., 2]."""
    if isinstance(state, np.ndarray) and state.ndim == 1:
        tip = float(state[0]) + params.pole_length * math.sin(float(state[1]))
        k, w = params.wall_stiffness, params.wall_distance
        return np.array([k * max(tip - w, 0.0), k * max(-w - tip, 0.0)])
    tip = tip_x(np.asarray(state, dtype=np.float64), params)
    right = params.wall_stiffness * np.maximum(tip - params.wall_distance, 0.0)
    left = params.wall_stiffness * np.maximum(-params.wall_distance - tip, 0.0)
    return np.stack([right, left], axis=-1)


def smooth_wall_forces(
    state: torch.Tensor, params: SoftWallCartPoleParams = SoftWallCartPoleParams()
) -> torch.Tensor:
    """:func:`wall_forces` made smooth for torch: k·δ·softplus(penetration/δ), [..., 2].

    softplus(x) − max(x, 0) lies in (0, ln 2], so each force is at most k·δ·ln 2 above the
    env's k·max(penetration, 0) (0.49 N at the defaults), most at the wall's surface.
    """
    import torch

    tip, w = tip_x(state, params), params.wall_distance
    penetration = torch.stack([tip - w, -w - tip], dim=-1)
    delta = params.contact_smoothing
    return params.wall_stiffness * delta * torch.nn.functional.softplus(penetration / delta)


def accelerations(
    state: torch.Tensor, force: torch.Tensor, tip_force: torch.Tensor, p: SoftWallCartPoleParams
) -> tuple[torch.Tensor, torch.Tensor]:
    """(ẍ, θ̈) of the rigid cart-pole (not linearised) under a cart force and a horizontal
    force at the pole tip (generalised force (f, l·cos θ·f)); M(θ) q̈ = τ solved in closed
    form (2×2)."""
    theta, theta_dot = LAYOUT.get(state, "theta"), LAYOUT.get(state, "theta_dot")
    sin, cos = theta.sin(), theta.cos()
    ml = p.pole_mass * p.pole_com
    m11, m12, m22 = p.cart_mass + p.pole_mass, ml * cos, p.pole_inertia + ml * p.pole_com
    tau_x = force + tip_force + ml * sin * theta_dot**2
    tau_theta = ml * p.gravity * sin + p.pole_length * cos * tip_force
    det = m11 * m22 - m12 * m12
    return (m22 * tau_x - m12 * tau_theta) / det, (m11 * tau_theta - m12 * tau_x) / det


def differentiable_step(
    state: torch.Tensor, action: torch.Tensor, p: SoftWallCartPoleParams
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(next state, reward, terminated) in torch, differentiable in state and action.

    What the env does, in closed form: the force clipped to ±max_force, walls from the
    state at the start of the step (:func:`smooth_wall_forces`), semi-implicit Euler at dt
    (v' = v + dt·q̈, q' = q + dt·v', PyBullet's integrator), then the task's own
    :func:`reward` and :func:`terminated` of the state reached. ∂s'/∂a and ∂r/∂a are its
    autograd derivatives (zero where the force is clipped).
    """
    import torch

    force = action[..., :1].clamp(-p.max_force, p.max_force)
    lam = smooth_wall_forces(state, p)
    x_acc, theta_acc = accelerations(state, force[..., 0], lam[..., 1] - lam[..., 0], p)
    v = LAYOUT.get(state, "x_dot", "theta_dot") + p.dt * torch.stack([x_acc, theta_acc], -1)
    q = LAYOUT.get(state, "x", "theta") + p.dt * v
    nxt = torch.cat([q, v], dim=-1)
    return nxt, reward(nxt, force), terminated(nxt, p)


def sample_initial_state(
    rng: np.random.Generator, params: SoftWallCartPoleParams = SoftWallCartPoleParams()
) -> np.ndarray:
    """Reset distribution: uniform in ±init_range around upright at rest."""
    bound = np.asarray(params.init_range, dtype=np.float64)
    return rng.uniform(-bound, bound)


def _linear_accelerations(p: SoftWallCartPoleParams) -> tuple[np.ndarray, ...]:
    """Upright linearisation q̈ = K q + b a + G λ of the rigid-body dynamics, q = (x, θ)."""
    mass = np.array(
        [
            [p.cart_mass + p.pole_mass, p.pole_mass * p.pole_com],
            [p.pole_mass * p.pole_com, p.pole_inertia + p.pole_mass * p.pole_com**2],
        ]
    )
    inv = np.linalg.inv(mass)
    K = inv @ np.array([[0.0, 0.0], [0.0, p.pole_mass * p.gravity * p.pole_com]])
    b = inv @ np.array([1.0, 0.0])
    # a horizontal tip force f acts on (x, θ) as (f, l·f); λ_right pushes −x, λ_left +x
    tip = np.array([1.0, p.pole_length])
    G = inv @ np.stack([-tip, tip], axis=1)
    return K, b, G


def exact_lcs(params: SoftWallCartPoleParams = SoftWallCartPoleParams()) -> LCS:
    """The system as a discrete LCS, linearised about upright, semi-implicit Euler at dt.

    v' = v + dt·(K q + b a + G λ),  q' = q + dt·v'  (the integrator PyBullet uses), and
    0 ≤ λ ⊥ λ/k − penetration(s) ≥ 0 with the tip linearised (x_tip ≈ x + l·θ), so that
    λ = k·max(penetration, 0) is the soft-wall force.
    """
    p, dt = params, params.dt
    K, b, G = _linear_accelerations(p)
    eye = np.eye(2)
    A = np.block([[eye + dt**2 * K, dt * eye], [dt * K, eye]])
    B = np.concatenate([dt**2 * b, dt * b])[:, None]
    C = np.concatenate([dt**2 * G, dt * G], axis=0)
    l, k, w = p.pole_length, p.wall_stiffness, p.wall_distance
    # right: λ/k − (x + lθ − w) ≥ 0;  left: λ/k − (−w − x − lθ) ≥ 0
    D = np.array([[-1.0, -l, 0.0, 0.0], [1.0, l, 0.0, 0.0]])
    return LCS(
        A=A,
        B=B,
        C=C,
        d=np.zeros(4),
        D=D,
        E=np.zeros((2, 1)),
        F=np.eye(2) / k,
        c=np.array([w, w]),
    )


def estimate(readings: SensorReadings, params: SoftWallCartPoleParams) -> np.ndarray:
    """State from the joint states: (x, θ) are the joint positions, (ẋ, θ̇) their rates."""
    idx = joint_indices(readings, JOINT_NAMES)
    q, v = readings.position[idx], readings.velocity[idx]
    return np.array([q[0], q[1], v[0], v[1]], dtype=np.float64)


DEFINITION = TaskDefinition(
    name="soft_wall_cartpole",
    params_cls=SoftWallCartPoleParams,
    layout=LAYOUT,
    joint_names=JOINT_NAMES,
    env_id="rl_control/SoftWallCartPole-v0",
    entry_point="rl_control.envs.soft_wall_cartpole:SoftWallCartPoleEnv",
    action_bounds=lambda p: (np.array([-p.max_force]), np.array([p.max_force])),
    dt=lambda p: p.dt,
    max_steps=lambda p: p.max_steps,
    observation=lambda s, p: observation(s),
    # the env rewards the state reached by the step and the (clipped) force applied
    reward=lambda s, a, s2, p: reward(s2, a),
    reward_terms=lambda s, a, s2, p: reward_terms(s2, a),
    terminated=terminated,
    estimate=estimate,
    sample_initial_state=sample_initial_state,
    dynamics=exact_lcs,
    differentiable=lambda p: lambda s, a: differentiable_step(s, a, p),
)
