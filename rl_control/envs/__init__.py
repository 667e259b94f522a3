"""rl_control.envs: gymnasium envs of the tasks on PyBullet; importing registers their ids."""

from rl_control.envs.registration import TASKS, make_env, register_envs

register_envs()

__all__ = ["TASKS", "make_env", "register_envs"]
