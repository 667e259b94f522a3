"""Imports every module that registers a policy kind (kept in one place to avoid cycles)."""

import importlib

for _module in ("rl_control.models.actor_critic", "rl_control.mpc.mpc_policy"):
    try:
        importlib.import_module(_module)
    except ModuleNotFoundError as err:  # a kind whose module has not landed yet
        if err.name != _module:
            raise
