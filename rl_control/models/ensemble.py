"""Probabilistic ensemble of Gaussian MLPs predicting (Δs, r) from (s, a) (PETS / MBPO).

All K members run in one batched forward: every layer is a stack of K weight matrices applied
with ``baddbmm`` to inputs of shape [K, B, in]. Each member outputs a mean and a log-variance
of the normalised target; the log-variance is softly bounded between learned limits (Chua et
al. 2018, appendix A.1) so it can neither collapse nor explode outside the data. Inputs and
targets are standardised with statistics of the training data. Members are trained on their
own bootstrap of the training split with the Gaussian NLL; the ``num_elites`` members with the
lowest held-out MSE are the elites that :meth:`GaussianEnsemble.predict` uses.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from rl_control.algorithms.config import adam
from rl_control.models.mlp import activation_class

MemberMode = Literal["random", "per_particle"]
MEMBER_MODES = ("random", "per_particle")


class EnsembleLinear(nn.Module):
    """K independent linear layers applied to [K, B, in] in one ``baddbmm``."""

    def __init__(self, members: int, in_dim: int, out_dim: int) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(in_dim)  # nn.Linear's default init, per member
        self.weight = nn.Parameter(torch.empty(members, in_dim, out_dim).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(members, 1, out_dim).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias, x, self.weight)


def invalid_rows(values: torch.Tensor, bound: float | torch.Tensor) -> torch.Tensor:
    """[N] mask of rows of ``values`` [N, D] holding NaN/inf or an entry beyond ``bound``.

    ``bound`` (scalar or per column) marks an exploding prediction: a state far outside
    anything seen in the data, where the model's output carries no information.
    """
    # one comparison: NaN compares False and inf exceeds the largest finite bound
    top = torch.finfo(values.dtype).max
    return ~(values.abs() <= torch.as_tensor(bound, dtype=values.dtype).clamp_max(top)).all(-1)


class GaussianEnsemble(nn.Module):
    """K Gaussian MLPs over (s, a) -> (Δs, r); targets and inputs standardised inside."""

    def __init__(
        self,
        obs_dim: int,
        act_dim: int,
        num_members: int = 7,
        num_elites: int = 5,
        hidden: Sequence[int] = (200, 200, 200, 200),
        activation: str = "silu",
    ) -> None:
        super().__init__()
        if not 1 <= num_elites <= num_members:
            raise ValueError(
                f"ensemble: num_elites must be in [1, num_members={num_members}], got {num_elites}"
            )
        if obs_dim <= 0 or act_dim <= 0 or any(int(h) <= 0 for h in hidden):
            raise ValueError(f"ensemble: sizes must be positive, got {obs_dim}, {act_dim}, "
                             f"{list(hidden)}")  # fmt: skip
        self.obs_dim, self.act_dim = int(obs_dim), int(act_dim)
        self.num_members, self.num_elites = int(num_members), int(num_elites)
        in_dim, self.out_dim = obs_dim + act_dim, obs_dim + 1
        sizes = [in_dim, *(int(h) for h in hidden)]
        self.layers = nn.ModuleList(
            EnsembleLinear(num_members, a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True)
        )
        self.head = EnsembleLinear(num_members, sizes[-1], 2 * self.out_dim)
        self.act = activation_class(activation)()
        # PETS initial bounds of the normalised log-variance; learned, with a small penalty
        self.max_logvar = nn.Parameter(torch.full((self.out_dim,), 0.5))
        self.min_logvar = nn.Parameter(torch.full((self.out_dim,), -10.0))
        for name, dim in (("in", in_dim), ("out", self.out_dim)):
            self.register_buffer(f"{name}_mean", torch.zeros(dim))
            self.register_buffer(f"{name}_std", torch.ones(dim))
        self.register_buffer("elites", torch.arange(num_elites))
        # largest |obs| / |r| seen in training, for the exploding-prediction check
        self.register_buffer("data_bound", torch.full((self.out_dim,), math.inf))
        # prediction-only derived tensors (elite weights, bounds), rebuilt after fit/load
        self._cache: dict[Any, Any] = {}

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False
    ) -> Any:
        """nn.Module's, then the elite weights are gathered afresh."""
        self._cache.clear()
        return super().load_state_dict(state_dict, strict, assign)

    # --- forward --------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised inputs [K, B, in] -> normalised (mean, bounded log-variance) [K, B, out]."""
        for layer in self.layers:
            x = self.act(layer(x))
        mean, logvar = self.head(x).chunk(2, dim=-1)
        logvar = self.max_logvar - F.softplus(self.max_logvar - logvar)
        logvar = self.min_logvar + F.softplus(logvar - self.min_logvar)
        return mean, logvar

    def _inputs(self, obs: torch.Tensor, act: torch.Tensor) -> torch.Tensor:
        return (torch.cat([obs, act], -1) - self.in_mean) / self.in_std

    @staticmethod
    def targets(obs: torch.Tensor, rewards: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
        """The raw regression targets (s' − s, r) [N, obs_dim + 1]."""
        return torch.cat([next_obs - obs, rewards.reshape(-1, 1)], -1)

    # --- training -------------------------------------------------------------------------
    def set_normalizers(self, obs: torch.Tensor, act: torch.Tensor, targets: torch.Tensor) -> None:
        """Standardise with the statistics of the given (training) data."""
        self._cache.clear()
        with torch.no_grad():
            x = torch.cat([obs, act], -1)
            self.in_mean.copy_(x.mean(0))
            self.in_std.copy_(x.std(0).clamp_min(1e-6) if len(x) > 1 else torch.ones_like(x[0]))
            self.out_mean.copy_(targets.mean(0))
            self.out_std.copy_(
                targets.std(0).clamp_min(1e-6) if len(x) > 1 else torch.ones_like(targets[0])
            )
            values = torch.cat([obs, targets[:, -1:]], -1).abs().amax(0)
            self.data_bound.copy_(values)

    def nll(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Per-member Gaussian NLL (no constant) of normalised targets y [K, B, out] -> [K]."""
        mean, logvar = self(x)
        return (((mean - y) ** 2) * torch.exp(-logvar) + logvar).mean((1, 2))

    @torch.no_grad()
    def validation_mse(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Per-member MSE of the mean on normalised held-out data x [B, in], y [B, out]."""
        k = self.num_members
        mean, _ = self(x.expand(k, -1, -1))
        return ((mean - y) ** 2).mean((1, 2))

    @torch.no_grad()
    def select_elites(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Make the ``num_elites`` members of lowest :meth:`validation_mse` the elites; returns
        every member's validation MSE [K]."""
        val_mse = self.validation_mse(x, y)
        self.elites.copy_(torch.argsort(val_mse)[: self.num_elites])
        self._cache.clear()
        return val_mse

    def normalize(
        self, obs: torch.Tensor, act: torch.Tensor, rewards: torch.Tensor, next_obs: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised (inputs, targets) of raw transitions, as :meth:`nll` takes them."""
        y = (self.targets(obs, rewards, next_obs) - self.out_mean) / self.out_std
        return self._inputs(obs, act), y

    def fit(
        self,
        obs: torch.Tensor,
        act: torch.Tensor,
        rewards: torch.Tensor,
        next_obs: torch.Tensor,
        optimizer: torch.optim.Optimizer,
        generator: torch.Generator,
        epochs: int = 5,
        batch_size: int = 256,
        holdout_ratio: float = 0.2,
        logvar_penalty: float = 0.01,
        patience: int | None = None,
    ) -> dict[str, float]:
        """Train on (s, a, r, s') with a held-out split; pick the elites; return statistics.

        Normalisers come from the training split; each member draws its own bootstrap
        batches. ``logvar_penalty`` keeps the learned log-variance limits tight (PETS).
        ``epochs`` is the maximum; with ``patience`` training stops once no member's
        validation MSE improved by more than 1 % for that many epochs (MBPO's rule).
        """
        n = len(obs)
        self._cache.clear()
        if n < 2:
            raise ValueError(f"ensemble.fit needs at least 2 transitions, got {n}")
        targets = self.targets(obs, rewards, next_obs)
        perm = torch.randperm(n, generator=generator)
        n_val = min(max(int(round(holdout_ratio * n)), 1), n - 1) if holdout_ratio > 0 else 0
        val, train = perm[:n_val], perm[n_val:]
        self.set_normalizers(obs[train], act[train], targets[train])
        x_all = self._inputs(obs, act)
        y_all = (targets - self.out_mean) / self.out_std
        rows = val if n_val > 0 else train
        k, n_train = self.num_members, len(train)
        steps = max(1, math.ceil(n_train / batch_size))
        total, done = torch.zeros(()), 0
        best = torch.full((k,), math.inf)
        stale = 0
        for _ in range(epochs):
            for _ in range(steps):
                idx = train[torch.randint(n_train, (k, min(batch_size, n_train)),
                                          generator=generator)]  # fmt: skip
                loss = self.nll(x_all[idx], y_all[idx]).sum()
                loss = loss + logvar_penalty * (self.max_logvar.sum() - self.min_logvar.sum())
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += loss.detach() / k
            done += 1
            if patience is not None:
                mse = self.validation_mse(x_all[rows], y_all[rows])
                improved = bool(((best - mse) / best.clamp_min(1e-12) > 0.01).any())
                best = torch.minimum(best, mse)
                stale = 0 if improved else stale + 1
                if stale >= patience:
                    break
        val_mse = self.select_elites(x_all[rows], y_all[rows])
        return {
            "model_loss": float(total) / (done * steps),
            "model_val_mse": float(val_mse[self.elites].mean()),
            "model_epochs": float(done),
        }

    def make_optimizer(self, lr: float = 1e-3) -> torch.optim.Optimizer:
        """Adam over all parameters (the MBPO learning rate by default)."""
        return adam(self.parameters(), lr)

    # --- prediction -----------------------------------------------------------------------
    @torch.no_grad()
    def predict(
        self,
        obs: torch.Tensor,
        act: torch.Tensor,
        generator: torch.Generator | None = None,
        member_mode: MemberMode = "random",
        deterministic: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(next_obs [N, obs_dim], reward [N]) from the elites.

        ``per_particle``: row i always uses elite ``i % num_elites`` (a particle keeps its
        member along a rollout, PETS TS-inf); ``random``: rows are shuffled over the elites
        first, a fresh balanced assignment per call (MBPO). With ``deterministic`` the means
        are returned, else one Gaussian sample.
        """
        if member_mode not in MEMBER_MODES:
            raise ValueError(f"member_mode must be one of {MEMBER_MODES}, got {member_mode!r}")
        n, e = len(obs), self.num_elites
        x = torch.cat([obs, act], -1)  # the input normalisation is folded into layer 1
        perm = None
        if member_mode == "random":
            perm = torch.randperm(n, generator=generator)
            x = x[perm]
        rows = math.ceil(n / e)
        if rows * e != n:  # pad to a multiple of the elites; padded rows are dropped
            x = torch.cat([x, x[torch.arange(rows * e - n) % n]], 0)
        # row i -> member i % e: [rows, e, in] -> [e, rows, in]
        xm = x.reshape(rows, e, -1).transpose(0, 1)
        mean, logvar = self._forward_members(xm)
        if not deterministic:
            noise = torch.randn(mean.shape, generator=generator)
            mean = torch.addcmul(mean, torch.exp(0.5 * logvar), noise)
        out = mean.transpose(0, 1).reshape(rows * e, -1)[:n]
        if perm is not None:
            out = out[torch.argsort(perm)]
        out = torch.addcmul(self.out_mean, out, self.out_std)
        return obs + out[:, :-1], out[:, -1]

    def _elite_weights(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(bias, weight) of every layer for the elites only, gathered once per fit/load; the
        first layer takes raw (s, a): W / σ_in and b − (μ_in / σ_in) W fold the normaliser in."""
        if "elites" not in self._cache:
            members = self.elites
            layers = [
                (layer.bias.detach()[members], layer.weight.detach()[members])
                for layer in (*self.layers, self.head)
            ]
            bias, weight = layers[0]
            scale = (1.0 / self.in_std)[:, None]
            shift = (self.in_mean / self.in_std)[None, None]
            layers[0] = (bias - torch.matmul(shift, weight), weight * scale)
            self._cache["elites"] = layers
        return self._cache["elites"]

    def _forward_members(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`forward` through the elites only (x is [num_elites, B, in])."""
        *hidden, (bias, weight) = self._elite_weights()
        for b, w in hidden:
            x = self.act(torch.baddbmm(b, x, w))
        mean, logvar = torch.baddbmm(bias, x, weight).chunk(2, dim=-1)
        logvar = self.max_logvar - F.softplus(self.max_logvar - logvar)
        logvar = self.min_logvar + F.softplus(logvar - self.min_logvar)
        return mean, logvar

    def exploding(
        self, next_obs: torch.Tensor, reward: torch.Tensor | None = None, factor: float = 10.0
    ) -> torch.Tensor:
        """[N] mask of predictions that are non-finite or beyond ``factor`` × (largest |value|
        in the training data + 1); of the states alone when ``reward`` is None."""
        bound = self._bound(factor, next_obs.dtype)
        if reward is None:
            return invalid_rows(next_obs, bound[:-1])
        return invalid_rows(torch.cat([next_obs, reward.reshape(-1, 1)], -1), bound)

    def reward_exploding(self, reward: torch.Tensor, factor: float = 10.0) -> torch.Tensor:
        """[N] mask of rewards [N] that are non-finite or beyond the bound of :meth:`exploding`."""
        return invalid_rows(reward.reshape(-1, 1), self._bound(factor, reward.dtype)[-1:])

    def _bound(self, factor: float, dtype: torch.dtype) -> torch.Tensor:
        """factor × (data_bound + 1), cached per fit/load (one per factor and dtype)."""
        key = ("bound", float(factor), dtype)
        if key not in self._cache:
            self._cache[key] = (factor * (self.data_bound + 1.0)).to(dtype)
        return self._cache[key]
