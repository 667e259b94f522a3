"""make_algorithm: names, config validation, defaults, plug-in registration."""

import numpy as np
import pytest

from rl_control.algorithms import registry
from rl_control.algorithms.ppo import PPO
from rl_control.algorithms.registry import algorithm_names, make_algorithm, register_algorithm
from rl_control.algorithms.sac import SAC
from rl_control.algorithms.spec import AlgorithmSpec
from rl_control.algorithms.trpo import TRPO

LOW, HIGH = np.array([-1.0, -1.0]), np.array([1.0, 1.0])


def test_builds_each_builtin_with_sb3_defaults() -> None:
    ppo = make_algorithm("ppo", AlgorithmSpec(3, LOW, HIGH, 2), {}, seed=0)
    trpo = make_algorithm("trpo", AlgorithmSpec(3, LOW, HIGH, 2), {}, seed=0)
    sac = make_algorithm("sac", AlgorithmSpec(3, LOW, HIGH, 2), {"buffer_size": 1000}, seed=0)
    assert isinstance(ppo, PPO) and isinstance(trpo, TRPO) and isinstance(sac, SAC)
    assert (ppo.config.n_steps, ppo.config.batch_size, ppo.config.clip_range) == (2048, 64, 0.2)
    assert (trpo.config.learning_rate, trpo.config.target_kl) == (1e-3, 0.01)
    assert (sac.config.batch_size, sac.config.tau, sac.target_entropy) == (256, 0.005, -2.0)
    assert ppo.on_policy and trpo.on_policy and not sac.on_policy
    assert {"ppo", "trpo", "sac"} <= set(algorithm_names())


def test_unknown_name_and_keys_are_rejected_by_name() -> None:
    with pytest.raises(ValueError, match=r"unknown algorithm 'xyz'; known: \[.*'ppo'"):
        make_algorithm("xyz", AlgorithmSpec(3, LOW, HIGH, 1), {}, seed=0)
    with pytest.raises(ValueError, match=r"unknown config key\(s\) for ppo: \['clip_rnage'\]"):
        make_algorithm("ppo", AlgorithmSpec(3, LOW, HIGH, 1), {"clip_rnage": 0.1}, seed=0)
    with pytest.raises(ValueError, match="'n_steps' must be an integer"):
        make_algorithm("ppo", AlgorithmSpec(3, LOW, HIGH, 1), {"n_steps": 10.5}, seed=0)
    with pytest.raises(ValueError, match="ppo mode must be one of"):
        make_algorithm("ppo", AlgorithmSpec(3, LOW, HIGH, 1), {"mode": "adaptive"}, seed=0)
    with pytest.raises(ValueError, match="'hidden' must be a list of integers"):
        make_algorithm("trpo", AlgorithmSpec(3, LOW, HIGH, 1), {"hidden": "64,64"}, seed=0)
    with pytest.raises(TypeError, match="must be a mapping"):
        make_algorithm("ppo", AlgorithmSpec(3, LOW, HIGH, 1), [("n_steps", 8)], seed=0)  # type: ignore[arg-type]


def test_yaml_style_values_are_coerced() -> None:
    # PyYAML reads 3e-4 (no dot) as a string
    algo = make_algorithm(
        "ppo", AlgorithmSpec(3, LOW, HIGH, 1), {"learning_rate": "3e-4", "n_steps": 8.0}, 0
    )
    assert algo.config.learning_rate == 3e-4 and algo.config.n_steps == 8
    assert isinstance(algo.config.n_steps, int)


def test_register_algorithm_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "ALGORITHMS", dict(registry.ALGORITHMS))
    seen = {}

    def builder(spec: AlgorithmSpec, config: dict, seed: int) -> PPO:
        seen.update(spec=spec, config=config, seed=seed)
        return PPO.build(spec, {"n_steps": 4}, seed)

    register_algorithm("my_plugin", builder)
    register_algorithm("my_plugin", builder)  # idempotent
    register_algorithm("ppo", PPO.build)  # the same bound builder: also a no-op
    spec = AlgorithmSpec(3, LOW, HIGH, 2)
    algo = make_algorithm("my_plugin", spec, {"horizon": 5}, seed=4)
    assert isinstance(algo, PPO) and seen == dict(spec=spec, config={"horizon": 5}, seed=4)
    with pytest.raises(ValueError, match="already registered"):
        register_algorithm("my_plugin", lambda *a: None)  # type: ignore[arg-type,return-value]


@pytest.mark.parametrize("module", ["rl_control.algorithms.no_such_plugin", "broken_plugin"])
def test_a_plugin_that_fails_to_import_raises_naming_it(
    module: str, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    # a missing module, and one that exists but fails inside (a missing dependency)
    (tmp_path / "broken_plugin.py").write_text("import not_installed_dependency_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "PLUGIN_MODULES", [*registry.PLUGIN_MODULES, module])
    with pytest.raises(ImportError, match=f"algorithm plugin module '{module}' failed"):
        algorithm_names()
    with pytest.raises(ImportError, match=module):
        make_algorithm("ppo", AlgorithmSpec(3, LOW, HIGH, 1), {}, seed=0)


def test_ppo_mpc_is_a_listed_plugin() -> None:
    assert "rl_control.algorithms.ppo_mpc" in registry.PLUGIN_MODULES
    assert "ppo_mpc" in algorithm_names()


def test_make_algorithm_needs_a_spec() -> None:
    with pytest.raises(TypeError, match="needs an AlgorithmSpec"):
        make_algorithm("ppo", 3, {}, 0)  # type: ignore[arg-type]
