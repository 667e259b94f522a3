"""A numpy forward of a small Gaussian MLP policy's acting path, for the policy node.

At one observation per call, torch's per-op dispatch dominates a small network's forward
(issue 14 profile: ~175 us for a 64x64 MLP, with the value head the node never publishes).
:class:`NumpyGaussianActor` snapshots a :class:`GaussianActorCritic`'s mean network,
log-std, normaliser statistics and action bounds as float32 arrays and runs the same ops in
numpy (float32 like torch); the noise is still drawn by the policy's own torch generator
with the same shape, so seeded draws are the same. Actions, means and log-probs match the
torch route to float32 rounding (tested to 1e-6). The snapshot is taken once: the server
builds a new one for every policy it swaps in (policies are never changed in place there).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from rl_control.models.actor_critic import GaussianActorCritic
from rl_control.policies.base import Policy, PolicyOutput

#: parameters of the mean network up to which the numpy route is used (larger nets: torch)
MAX_PARAMETERS = 200_000
_LOG_2PI = math.log(2.0 * math.pi)
#: tanh only (every Gaussian MLP config): tanh layers keep the outputs of order one, where
#: float32 sums in another order stay within 1e-6 of torch's; unbounded ReLU outputs of ~5
#: already differ by ~4e-6 (float32 rounding of torch itself), so those stay on torch
_ACTIVATIONS = {nn.Tanh: np.tanh}


class NumpyGaussianActor:
    """``act`` of a :class:`GaussianActorCritic` in numpy (no ``value`` in ``info``)."""

    def __init__(self, policy: GaussianActorCritic) -> None:
        layers, activations = [], []
        for module in policy.mean_net:
            if isinstance(module, nn.Linear):
                weight = module.weight.detach().numpy().astype(np.float32)
                bias = module.bias.detach().numpy().astype(np.float32)
                layers.append((np.ascontiguousarray(weight.T), bias))
            elif type(module) in _ACTIVATIONS:
                activations.append(_ACTIVATIONS[type(module)])
            else:
                raise ValueError(f"no numpy forward for layer {type(module).__name__}")
        if len(activations) != len(layers) - 1:
            raise ValueError("mean network is not Linear layers with one activation between")
        self.policy, self.obs_dim = policy, policy.obs_dim
        self.layers, self.activations = layers, activations
        self.normalize = policy.normalize_obs_enabled
        with torch.no_grad():  # the float32 statistics torch's normaliser uses
            rms = policy.obs_rms
            self.obs_mean = rms.mean.float().numpy()
            self.obs_std = torch.sqrt(rms.var + 1e-8).float().numpy()
        self.log_std = policy.log_std.detach().numpy().astype(np.float32)
        self.std = np.exp(self.log_std)
        self.log_norm = np.float32(0.5 * _LOG_2PI)
        self.center = policy.action_center.numpy().astype(np.float32)
        self.half = policy.action_half_range.numpy().astype(np.float32)

    @staticmethod
    def supports(policy: Policy) -> bool:
        """Whether ``policy`` is a Gaussian MLP small enough (and built of layers) to run here."""
        if type(policy) is not GaussianActorCritic:
            return False
        net = policy.mean_net
        if sum(p.numel() for p in net.parameters()) > MAX_PARAMETERS:
            return False
        return all(isinstance(m, nn.Linear) or type(m) in _ACTIVATIONS for m in net)

    def act(self, obs: np.ndarray, deterministic: bool = False) -> PolicyOutput:
        x = np.asarray(obs, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.obs_dim:
            raise ValueError(f"expected observations of shape [N, {self.obs_dim}], got {x.shape}")
        if not np.isfinite(x).all():
            raise ValueError("non-finite observation passed to the policy")
        if self.normalize:
            x = np.clip((x - self.obs_mean) / self.obs_std, -10.0, 10.0, dtype=np.float32)
        last = len(self.layers) - 1
        for i, (weight, bias) in enumerate(self.layers):
            x = x @ weight + bias
            if i < last:
                x = self.activations[i](x)
        mean = x
        if deterministic:
            u, z_sq = mean, np.zeros_like(mean)
        else:
            noise = torch.randn(mean.shape, generator=self.policy.generator).numpy()
            u, z_sq = mean + self.std * noise, np.square(noise)
        log_prob = (np.float32(-0.5) * z_sq - self.log_std - self.log_norm).sum(-1)
        return PolicyOutput(
            action=(self.center + self.half * u).astype(np.float64),
            mean=(self.center + self.half * mean).astype(np.float64),
            log_prob=log_prob.astype(np.float64),
        )


def numpy_actor(policy: Policy | None) -> NumpyGaussianActor | None:
    """The numpy forward of ``policy`` when :meth:`NumpyGaussianActor.supports` it, else None."""
    if policy is None or not NumpyGaussianActor.supports(policy):
        return None
    return NumpyGaussianActor(policy)
