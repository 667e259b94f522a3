"""rl_control.envs: gymnasium envs of the tasks on PyBullet; importing registers their ids."""

from rl_control.envs.registration import make_env, register_envs
from rl_control.tasks.registry import TASKS

register_envs()

__all__ = ["TASKS", "make_env", "register_envs"]
