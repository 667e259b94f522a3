"""The graph trainer and the analytic-gradient algorithms (gi_ppo, rp, lr_rp): refused in one
line, since no task has both the graph's facts (sensors -> state) and a differentiable step;
lr is model-free and passes the graph's checks."""

import pytest

from rl_control.roles.session import check_graph_task


@pytest.mark.parametrize("algo", ["gi_ppo", "rp", "lr_rp"])
def test_graph_refuses_analytic_algorithms_in_one_line(algo):
    with pytest.raises(ValueError) as err:
        check_graph_task("soft_wall_cartpole", algo)
    assert "has no differentiable step" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ValueError, match="dejong_64' has no state estimate"):
        check_graph_task("dejong_64", algo)


def test_graph_accepts_lr():
    check_graph_task("soft_wall_cartpole", "lr")
