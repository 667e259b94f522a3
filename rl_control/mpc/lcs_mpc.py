"""LCS-MPC (eq. 6 of Bui, You & Duan) with barrier-smoothed complementarity, solved by Newton.

    max_a  Σ_{k<H} r(s_k, a_k) + V(s_H)
    s.t.   s_{k+1} = A s_k + B a_k + C λ_k + d,  s_0 = s,  |a_k| ≤ a_max,
           λ_k ∘ w_k = γ,  λ_k > 0,  w_k = D s_k + E a_k + F λ_k + c > 0.

Complementarity 0 ≤ λ ⊥ w ≥ 0 is replaced by the *smoothed* (log-barrier, Jin & Posa style)
equality λ_i w_i = γ on the positive branch, so the model is smooth and the optimum is a
smooth function of (s, Θ). Action bounds enter as a fixed log barrier −μ_a log(a_max² − a²).
The resulting equality-constrained problem's KKT conditions K(y; s, θ) = 0, y = (z, ν, η),
are solved by Newton's method (CasADi builds K and its Jacobian once, symbolically in the
parameters) with a fraction-to-boundary rule keeping λ, w and the action slacks positive and
a backtracking line search on ‖K‖. The same KKT system gives dμ/dθ by implicit
differentiation: dy/dθ = −K_y⁻¹ K_θ, so dμ/dθ = −(K_y⁻ᵀ e_{a0})ᵀ K_θ (one solve + one
reverse-mode product).

Terminal value: a learned quadratic V(s) = −sᵀ L Lᵀ s + pᵀ s (concave by construction);
θ = (Θ, vec_tril(L), p) is the CasADi parameter vector, so the problem is built once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import casadi as ca
import numpy as np

from rl_control.models.lcs import lcs_shapes
from rl_control.tasks import soft_wall_cartpole as task


def cartpole_stage_cost(s: ca.SX, a: ca.SX) -> ca.SX:
    """−r(s, a) of the soft-wall cart-pole without its constant alive bonus (CasADi mirror).

    The task's own function indexes with ``...``, which CasADi symbols do not support; the
    weights are the task's constants, and a test checks both definitions agree.
    """
    cost = sum(w * s[i] ** 2 for i, w in enumerate(task.STATE_COST))
    return cost + task.ACTION_COST * ca.sumsqr(a)


def terminal_size(n_x: int) -> int:
    """Number of terminal-value parameters: lower triangle of L plus the linear term p."""
    return n_x * (n_x + 1) // 2 + n_x


def terminal_matrices(flat: np.ndarray, n_x: int) -> tuple[np.ndarray, np.ndarray]:
    """(P = L Lᵀ, p) from the terminal parameter vector (row-major lower triangle of L, p)."""
    flat = np.asarray(flat, dtype=np.float64)
    L = np.zeros((n_x, n_x))
    L[np.tril_indices(n_x)] = flat[: n_x * (n_x + 1) // 2]
    return L @ L.T, flat[n_x * (n_x + 1) // 2 :]


def terminal_params_from(P: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Parameter vector of V(s) = −sᵀPs + pᵀs (P symmetric positive definite)."""
    L = np.linalg.cholesky(0.5 * (P + P.T))
    return np.concatenate([L[np.tril_indices(len(p))], np.asarray(p, dtype=np.float64)])


@dataclass(frozen=True)
class MPCSettings:
    """Problem and solver settings (plain values, stored in policy configs)."""

    horizon: int = 10
    smoothing: float = 1e-3  # γ in λ_i w_i = γ
    action_bound: float = 100.0
    action_barrier: float = 0.1  # μ_a of the action log barrier (reward units)
    tol: float = 1e-9  # on max |KKT residual|
    max_iter: int = 50
    jit: bool = False  # compile the KKT functions with gcc (faster, slower to build)
    linear_solver: str = "qr"  # CasADi sparse linear solver for the Newton/KKT systems

    def __post_init__(self) -> None:
        if self.horizon < 1:
            raise ValueError(f"MPC horizon must be >= 1, got {self.horizon}")
        for name in ("smoothing", "action_bound", "action_barrier", "tol"):
            if not getattr(self, name) > 0:
                raise ValueError(f"MPC setting {name} must be > 0, got {getattr(self, name)}")
        if self.max_iter < 1:
            raise ValueError(f"MPC max_iter must be >= 1, got {self.max_iter}")


@dataclass
class MPCSolution:
    """Primal-dual point y, success flag, Newton iterations and wall time of one solve."""

    y: np.ndarray
    success: bool
    iterations: int
    solve_time: float
    residual: float


class LCSMPC:
    """The smoothed LCS-MPC for fixed dimensions; solve many times with different (s, θ)."""

    def __init__(self, n_x: int, n_a: int, n_l: int, settings: MPCSettings | None = None) -> None:
        self.n_x, self.n_a, self.n_l = int(n_x), int(n_a), int(n_l)
        self.settings = settings or MPCSettings()
        shapes = lcs_shapes(self.n_x, self.n_a, self.n_l)
        self.n_lcs = sum(int(np.prod(s)) for s in shapes.values())
        self.n_theta = self.n_lcs + terminal_size(self.n_x)
        self.block = self.n_a + self.n_l + self.n_x  # (a_k, λ_k, s_{k+1}) per step
        H = self.settings.horizon
        self.n_z = H * self.block
        self.n_y = self.n_z + H * (self.n_x + self.n_l)
        self._build(shapes)

    # --- symbolic problem ---------------------------------------------------------------
    def _build(self, shapes: dict[str, tuple[int, ...]]) -> None:
        st, H = self.settings, self.settings.horizon
        nx, na, nl = self.n_x, self.n_a, self.n_l
        y = ca.SX.sym("y", self.n_y)
        s0 = ca.SX.sym("s0", nx)
        theta = ca.SX.sym("theta", self.n_theta)
        m, i = {}, 0
        for name, shape in shapes.items():
            size = int(np.prod(shape))
            rows, cols = (shape[0], shape[1]) if len(shape) == 2 else (shape[0], 1)
            m[name] = ca.reshape(theta[i : i + size], cols, rows).T  # row-major like numpy
            i += size
        L = ca.SX.zeros(nx, nx)
        for k, (r, c_) in enumerate(zip(*np.tril_indices(nx), strict=True)):
            L[int(r), int(c_)] = theta[i + k]
        p_lin = theta[i + nx * (nx + 1) // 2 :]
        z, mult = y[: self.n_z], y[self.n_z :]
        cost, cons, pos, walls = 0, [], [], []
        s, amax = s0, st.action_bound
        for k in range(H):
            blk = z[k * self.block : (k + 1) * self.block]
            a, lam, s_next = blk[:na], blk[na : na + nl], blk[na + nl :]
            w = m["D"] @ s + m["E"] @ a + m["F"] @ lam + m["c"]
            cost += cartpole_stage_cost(s, a)
            cost -= st.action_barrier * ca.sum1(ca.log(1.0 - (a / amax) ** 2))
            cons += [s_next - (m["A"] @ s + m["B"] @ a + m["C"] @ lam + m["d"])]
            cons += [lam * w - st.smoothing]
            pos += [lam, w, amax - a, amax + a]
            walls += [w]
            s = s_next
        LtS = L.T @ s
        cost += ca.dot(LtS, LtS) - ca.dot(p_lin, s)  # −V(s_H)
        g = ca.vertcat(*cons)
        lagr = cost + ca.dot(mult, g)
        kkt = ca.vertcat(ca.gradient(lagr, z), g)
        jac = ca.jacobian(kkt, y)
        opts = {}
        if st.jit:
            opts = {"jit": True, "compiler": "shell", "jit_options": {"flags": ["-O2"]}}
        pos = ca.vertcat(*pos)
        args, names = [y, s0, theta], ["y", "s0", "theta"]
        kkt_fn = ca.Function("kkt", args, [kkt, jac], opts)
        self._res = ca.Function("res", args, [kkt], names, ["r"], opts)
        pos_fn = ca.Function("pos", args, [pos], opts)
        self._pos = pos_fn
        # one Newton step, sparse-solved inside CasADi (KKT is banded; no dense copies)
        ym, sm, tm = (
            ca.MX.sym("y", self.n_y),
            ca.MX.sym("s0", nx),
            ca.MX.sym("theta", self.n_theta),
        )
        r_m, j_m = kkt_fn(ym, sm, tm)
        dy = -ca.solve(j_m, r_m, self.settings.linear_solver)
        self._step = ca.Function(
            "newton_step", [ym, sm, tm], [r_m, dy, pos_fn(ym, sm, tm), pos_fn(ym + dy, sm, tm)]
        )
        # implicit gradient dμ/dθ = −(J⁻ᵀ E)ᵀ ∂K/∂θ with E the a₀ columns of the identity
        sel = ca.DM.zeros(self.n_y, na)
        for j in range(na):
            sel[j, j] = 1.0
        adj = ca.solve(j_m.T, sel, self.settings.linear_solver)
        vjp = ca.Function(
            "vjp",
            [y, s0, theta, v_sym := ca.SX.sym("v", self.n_y)],
            [ca.jtimes(kkt, theta, v_sym, True)],
            opts,
        )
        grads = [-vjp(ym, sm, tm, adj[:, j]).T for j in range(na)]
        self._grad = ca.Function("dmu_dtheta", [ym, sm, tm], [ca.vertcat(*grads)])
        states = ca.horzcat(
            s0, *[z[k * self.block + na + nl : (k + 1) * self.block] for k in range(H)]
        )
        self._plan = ca.Function("plan", [y, s0], [states.T])
        # robust path for when Newton stalls (non-convex models): IPOPT on the same problem
        nlp = {"x": z, "p": ca.vertcat(s0, theta), "f": cost, "g": ca.vertcat(g, *walls)}
        ipopt = {
            "print_level": 0,
            "tol": 1e-10,
            "max_iter": 60,
            "bound_relax_factor": 0.0,
            "mu_strategy": "adaptive",
            "sb": "yes",
        }
        opts_nlp = {"ipopt": ipopt, "print_time": False, "show_eval_warnings": False}
        self._ipopt = ca.nlpsol("ipopt", "ipopt", nlp, opts_nlp)
        self._n_eq = int(g.numel())
        lbx, ubx = np.full(self.n_z, -np.inf), np.full(self.n_z, np.inf)
        for k in range(H):
            lbx[k * self.block : k * self.block + na] = -amax * (1 - 1e-6)
            ubx[k * self.block : k * self.block + na] = amax * (1 - 1e-6)
            lbx[k * self.block + na : k * self.block + na + nl] = 0.0
        self._bounds = (lbx, ubx)

    # --- layout helpers -------------------------------------------------------------------
    def first_action(self, y: np.ndarray) -> np.ndarray:
        """a₀* [n_a] from a primal-dual point."""
        return np.asarray(y[: self.n_a], dtype=np.float64).copy()

    def actions(self, y: np.ndarray) -> np.ndarray:
        """Planned actions [H, n_a]."""
        z = np.asarray(y[: self.n_z]).reshape(self.settings.horizon, self.block)
        return z[:, : self.n_a].copy()

    def plan(self, y: np.ndarray, s0: np.ndarray) -> np.ndarray:
        """Planned states [H + 1, n_x] including s0."""
        return np.asarray(self._plan(y, s0), dtype=np.float64)

    def shift(self, y: np.ndarray) -> np.ndarray:
        """Warm start for the next control step: drop step 0, repeat the last step."""
        H, b = self.settings.horizon, self.block
        z = np.asarray(y[: self.n_z]).reshape(H, b)
        mult = np.asarray(y[self.n_z :]).reshape(H, self.n_x + self.n_l)
        z = np.concatenate([z[1:], z[-1:]])
        mult = np.concatenate([mult[1:], mult[-1:]])
        return np.concatenate([z.ravel(), mult.ravel()])

    def cold_start(self, s0: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """Simulate the smoothed model with zero actions; multipliers start at zero."""
        m, i = {}, 0
        for name, shape in lcs_shapes(self.n_x, self.n_a, self.n_l).items():
            size = int(np.prod(shape))
            m[name] = np.asarray(theta[i : i + size]).reshape(shape)
            i += size
        s, a, blocks = np.asarray(s0, dtype=np.float64), np.zeros(self.n_a), []
        for _ in range(self.settings.horizon):
            q = m["D"] @ s + m["E"] @ a + m["c"]
            lam = smoothed_lambda_np(m["F"], q, self.settings.smoothing)
            s = m["A"] @ s + m["B"] @ a + m["C"] @ lam + m["d"]
            blocks.append(np.concatenate([a, lam, s]))
        mult = np.zeros(self.n_y - self.n_z)
        return np.concatenate([*blocks, mult])

    # --- solving --------------------------------------------------------------------------
    def solve(
        self, s0: np.ndarray, theta: np.ndarray, warm: np.ndarray | None = None
    ) -> MPCSolution:
        """Newton from ``warm`` (else a cold start); IPOPT + Newton polish if that stalls.

        Never raises on numerical failure: check ``success``.
        """
        start = time.perf_counter()
        s0 = np.asarray(s0, dtype=np.float64).reshape(self.n_x)
        theta = np.asarray(theta, dtype=np.float64).reshape(self.n_theta)
        total, sol = 0, None
        starts = [] if warm is None else [np.array(warm, dtype=np.float64)]
        for attempt in range(len(starts) + 2):
            try:
                if attempt < len(starts):
                    y = starts[attempt]
                elif attempt == len(starts):
                    y = self.cold_start(s0, theta)
                else:
                    y = self._ipopt_start(s0, theta)
                pos = np.asarray(self._pos(y, s0, theta)).ravel()
                if not np.all(pos > 0):
                    continue  # off the positive branch: try the next start
                # a cold start that Newton cannot finish quickly goes to IPOPT instead
                limit = 15 if attempt == len(starts) else self.settings.max_iter
                ok, iters, norm, y = self._newton(y, s0, theta, limit)
            except (FloatingPointError, np.linalg.LinAlgError, RuntimeError):
                continue
            total += iters
            sol = MPCSolution(y, ok, total, 0.0, norm)
            if ok:
                break
        if sol is None:
            sol = MPCSolution(self.cold_start(s0, theta), False, total, 0.0, np.inf)
        sol.solve_time = time.perf_counter() - start
        return sol

    def _ipopt_start(self, s0: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """Primal-dual point from IPOPT on the smoothed problem, started cold."""
        x0 = self.cold_start(s0, theta)[: self.n_z]
        n_wall = self.settings.horizon * self.n_l
        lbg = np.zeros(self._n_eq + n_wall)
        ubg = np.concatenate([np.zeros(self._n_eq), np.full(n_wall, np.inf)])
        lbx, ubx = self._bounds
        res = self._ipopt(x0=x0, p=np.concatenate([s0, theta]), lbx=lbx, ubx=ubx, lbg=lbg, ubg=ubg)
        lam_g = np.asarray(res["lam_g"]).ravel()[: self._n_eq]
        return np.concatenate([np.asarray(res["x"]).ravel(), lam_g])

    def _newton(
        self, y: np.ndarray, s0: np.ndarray, theta: np.ndarray, max_iter: int
    ) -> tuple[bool, int, float, np.ndarray]:
        """Damped Newton on K(y) = 0; converged when ‖K‖∞ < tol or a full step is negligible.

        The step test covers solutions pressed against the action barrier, whose KKT matrix is
        too ill-conditioned for an absolute residual tolerance.
        """
        st, norm, short_steps = self.settings, np.inf, 0
        for it in range(max_iter + 1):
            r, step, pos, pos_full = (np.asarray(v).ravel() for v in self._step(y, s0, theta))
            norm = float(np.abs(r).max())
            if not np.isfinite(norm):
                raise FloatingPointError("non-finite KKT residual")
            if norm < st.tol:
                return True, it, norm, y
            if it == max_iter or not np.all(np.isfinite(step)):
                break
            dpos = pos_full - pos
            neg = dpos < 0
            alpha = min(1.0, float(np.min(-0.99 * pos[neg] / dpos[neg]))) if neg.any() else 1.0
            merit = float(r @ r)
            for _ in range(30):
                r_try = np.asarray(self._res(y + alpha * step, s0, theta)).ravel()
                if float(r_try @ r_try) <= (1.0 - 1e-4 * alpha) * merit:
                    break
                alpha *= 0.5
            else:
                break  # no decrease along the Newton direction
            z_step = float(np.abs(step[: self.n_z]).max())
            y = y + alpha * step
            if alpha == 1.0 and z_step < 1e-9 * (1.0 + float(np.abs(y[: self.n_z]).max())):
                return True, it + 1, norm, y
            short_steps = short_steps + 1 if alpha < 1e-2 else 0
            if short_steps >= 4:
                break  # stalled: let the caller try another start
        return False, it, norm, y

    def action_gradient(self, y: np.ndarray, s0: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """dμ/dθ [n_a, n_theta] at a converged solution, by implicit differentiation."""
        return np.asarray(self._grad(y, s0, theta), dtype=np.float64)


def smoothed_lambda_np(F: np.ndarray, q: np.ndarray, gamma: float, iters: int = 50) -> np.ndarray:
    """numpy twin of :func:`rl_control.models.lcs.smoothed_lambda` for one q [n_l]."""
    fd = np.maximum(np.diag(F), 1e-9)
    root = np.sqrt(q**2 + 4.0 * fd * gamma)
    with np.errstate(divide="ignore", invalid="ignore"):  # np.where evaluates both branches
        lam = np.where(q > 0, 2.0 * gamma / (q + root), (root - q) / (2.0 * fd))
    for _ in range(iters):
        w = F @ lam + q
        phi = lam * w - gamma
        if np.abs(phi).max() < 1e-13:
            break
        step = np.linalg.solve(np.diag(w) + lam[:, None] * F, -phi)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.concatenate([-step / lam, -(F @ step) / w]).max(initial=0.0)
        lam = lam + min(1.0, 0.99 / ratio if ratio > 0 else 1.0) * step
    return lam


def lqr_terminal(A: np.ndarray, B: np.ndarray, discount: float = 0.99) -> np.ndarray:
    """Terminal parameters from the discounted LQR cost-to-go of (A, B) with the task's costs.

    Uses only the (learned) model, never the true system: the default initial V(s_H).
    """
    from scipy.linalg import solve_discrete_are

    Q = np.diag(np.asarray(task.STATE_COST, dtype=np.float64))
    R = np.full((B.shape[1], B.shape[1]), task.ACTION_COST) * np.eye(B.shape[1])
    root = np.sqrt(discount)
    P = solve_discrete_are(root * A, root * B, Q, R)
    return terminal_params_from(P, np.zeros(A.shape[0]))
