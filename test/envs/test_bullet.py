"""PyBullet plumbing: C-level prints are silenced, envs close their world once."""

import os
import subprocess
import sys

import numpy as np
import pytest

from rl_control.envs.bullet import quiet_stdout
from rl_control.envs.registration import make_env


def test_quiet_stdout_swallows_fd_level_writes(capfd) -> None:
    with quiet_stdout():
        os.write(1, b"banner on fd 1\n")
        os.write(2, b"banner on fd 2\n")
    os.write(1, b"visible\n")
    out, err = capfd.readouterr()
    assert out == "visible\n" and err == ""


def test_making_an_env_prints_nothing() -> None:
    code = "from rl_control.envs import make_env; make_env('soft_wall_cartpole', seed=0).close()"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""


def test_close_is_idempotent() -> None:
    env = make_env("two_link_leg", seed=0)
    env.close()
    env.close()


def test_sensor_accessors_are_public_and_refuse_a_closed_world() -> None:
    env = make_env("soft_wall_cartpole", seed=0)
    cid, body = env.physics_handles()
    assert cid >= 0 and body >= 0 and env.movable_joints() == [0, 1]
    q, v, tau = env.joint_sensors()
    np.testing.assert_allclose(np.r_[q, v], env.state)
    assert tau.shape == (2,)
    env.close()
    with pytest.raises(ValueError, match="SoftWallCartPoleEnv is closed"):
        env.physics_handles()
