"""M-DeMoRL's small-budget learning check on the 2R leg (test/algorithms/test_m_demorl.py).

The config is config/train/m_demorl_two_link_leg_tiny.yaml (candidate ``f`` of
experiments/m_demorl_tiny.py): 2000 env steps of 100-step episodes, at most 100 per episode.
Measured in-process (experiments/results/m_demorl_tiny.md, 2026-12-07), deterministic eval
return of the untrained -> trained actor, seeds 0-9: 18.6->56.0, 29.3->51.8, 37.9->75.0,
36.0->76.1, 18.5->48.1, 34.3->58.3, 41.3->54.2, 34.8->53.3, 36.2->67.4, 19.0->49.5 (gain
+12.9 at least, final 48.1 at least). On the same eval episodes zero torque gives 42.8 and PD
on the inverse kinematics of the foot target 97.1 (the untrained actor's torque bias turns
the light knee over on 3 of seeds 0-4). SAC alone at the same budget and sizes, reported, not
asserted: final 41.4-76.4, gain +8.6 at least.
"""

from __future__ import annotations

from pathlib import Path

CONFIG = Path(__file__).resolve().parents[1] / "config/train/m_demorl_two_link_leg_tiny.yaml"
#: zero torque's eval return on these episodes (experiments/m_demorl_tiny.py: references)
ZERO_TORQUE = 42.8
#: bars below the worst of the 10 measured seeds: final >= 48.1 (margin 4.1; the bar is above
#: zero torque, so the trained actor does better than doing nothing), gain >= 12.9 (seed 6;
#: margin 2.9, seed 0 +37.4); the untrained actor does worse than zero torque (at most 41.3)
FINAL_BAR, GAIN_BAR, UNTRAINED_BAR = 44.0, 10.0, ZERO_TORQUE


def assert_learned(untrained: float, final: float) -> None:
    assert untrained < UNTRAINED_BAR, untrained  # worse than doing nothing: something to learn
    assert final > FINAL_BAR and final - untrained > GAIN_BAR, (untrained, final)
