"""Imports every module that registers a policy kind (kept in one place to avoid cycles).

Every listed module must import: a kind that fails to load raises naming its module instead
of vanishing from the registry (a checkpoint of that kind would otherwise read as unknown).
"""

import importlib

KIND_MODULES = (
    "rl_control.models.actor_critic",
    "rl_control.mpc.mpc_policy",
    "rl_control.mpc.ilqr_mpc",
    "rl_control.policies.onnx_policy",
    "rl_control.policies.dmd_mpc_policy",
    "rl_control.policies.constant",
)

for _module in KIND_MODULES:
    try:
        importlib.import_module(_module)
    except Exception as err:
        raise ImportError(f"policy kind module {_module!r} failed to import: {err}") from err
