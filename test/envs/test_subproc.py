"""Vector envs in worker processes: the same steps as in one process, and clear errors."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest

from rl_control.envs.registration import make_env
from rl_control.envs.subproc import AsyncVectorEnv, make_vector_env, split
from rl_control.envs.vector import SyncVectorEnv

# 25-step episodes so auto-resets happen within a short test
CARTPOLE = partial(make_env, "soft_wall_cartpole", max_steps=25)


def test_split_covers_every_env_once_in_order():
    assert split(5, 2) == [range(0, 3), range(3, 5)]
    assert split(4, 4) == [range(k, k + 1) for k in range(4)]
    with pytest.raises(ValueError, match="between 1 and the number of envs"):
        split(2, 3)


@pytest.mark.parametrize(("workers", "inline"), [(1, True), (2, False)])
def test_async_steps_equal_sync_steps_across_resets(workers, inline):
    n, rng = 3, np.random.default_rng(0)
    sync = SyncVectorEnv([CARTPOLE] * n)
    vec = AsyncVectorEnv([CARTPOLE] * n, workers=workers, inline=inline)
    try:
        assert vec.shares == [range(0, 2), range(2, 3)]  # uneven shares keep env order
        assert len(vec._procs) == workers
        assert vec.action_space == sync.action_space
        np.testing.assert_array_equal(vec.reset(seed=7), sync.reset(seed=7))
        ended = 0
        for _ in range(60):
            # beyond the bounds, so the clipping of both is compared too
            actions = rng.uniform(-150.0, 150.0, (n, 1))
            a, s = vec.step(actions), sync.step(actions)
            for name in ("obs", "reward", "terminated", "truncated", "next_obs",
                         "episode_return", "episode_length"):  # fmt: skip
                np.testing.assert_array_equal(getattr(a, name), getattr(s, name), err_msg=name)
            assert [sorted(i) for i in a.infos] == [sorted(i) for i in s.infos]
            ended += int(np.sum(a.episode_length > 0))
        assert ended >= n * 2  # each env went through at least two auto-resets
    finally:
        vec.close()
        sync.close()


def test_a_worker_error_is_raised_naming_the_worker():
    bad = partial(make_env, "soft_wall_cartpole", no_such_param=1)
    with pytest.raises(ValueError, match=r"^vector env worker 1: unknown .*no_such_param") as info:
        AsyncVectorEnv([CARTPOLE, CARTPOLE, bad], 2)  # env 2 is worker 1's
    assert "Traceback" in str(info.value.__cause__)


def test_non_finite_actions_and_unpicklable_factories_are_refused():
    vec = AsyncVectorEnv([CARTPOLE], workers=1, inline=False)
    try:
        vec.reset(seed=0)
        with pytest.raises(ValueError, match="non-finite action"):
            vec.step(np.array([[np.nan]]))
        assert vec.step(np.zeros((1, 1))).obs.shape == (1, 4)  # the worker is still serving
    finally:
        vec.close()
    with pytest.raises(ValueError, match="picklable env factories"):
        AsyncVectorEnv([CARTPOLE, lambda: make_env("soft_wall_cartpole")], workers=1)
    with pytest.raises(ValueError, match="'vector' must be 'sync' or 'async'"):
        make_vector_env([CARTPOLE], "threads")
