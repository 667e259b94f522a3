"""policy_forward: each timed call acts on a new step (no repeated-step shortcut is timed)."""

import numpy as np
import policy_forward


def test_every_call_computes_a_fresh_action() -> None:
    policy = policy_forward.GaussianActorCritic(4, 1, [-1.0], [1.0], hidden=[8])
    server = policy_forward.PolicyServer(policy, seed=0, max_age=0.0, numpy_forward=True)
    calls = []
    act = server.actor().act
    server.actor = lambda: type("Spy", (), {"act": lambda self, o, deterministic: (
        calls.append(1), act(o, deterministic=deterministic))[1]})()  # fmt: skip
    assert policy_forward.per_call_us(server, np.zeros((5, 4)), start_step=10) > 0
    assert len(calls) == 5
