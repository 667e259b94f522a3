"""M-DeMoRL's small-budget learning check on the 2R leg (test/algorithms/test_m_demorl.py).

The config is config/train/m_demorl_two_link_leg_tiny.yaml (candidate ``f`` of
experiments/m_demorl_tiny.py): 2000 env steps of 100-step episodes, at most 100 per episode.
Measured in-process (experiments/results/m_demorl_tiny.md, 2026-12-07), deterministic eval
return of the untrained -> trained actor, seeds 0-4: 18.7->56.2, 29.3->51.8, 38.2->75.4,
35.6->75.7, 18.3->47.9 (gain +22.5 at least, final 47.9 at least). On the same eval
episodes zero torque gives 42.8 and PD on the inverse kinematics of the foot target 97.1.
SAC alone at the same budget and sizes, reported, not asserted: gains +17.5 to +57.8.
"""

from __future__ import annotations

from pathlib import Path

CONFIG = Path(__file__).resolve().parents[1] / "config/train/m_demorl_two_link_leg_tiny.yaml"
#: bars below the worst of the measured runs: final >= 47.9 (margin 7.9: above zero torque's
#: 42.8, so the actor no longer spins the knee), gain >= 22.5 (margin 10.5); the untrained
#: actor is below zero torque (at most 38.2 measured)
FINAL_BAR, GAIN_BAR, UNTRAINED_BAR = 40.0, 12.0, 42.0


def assert_learned(untrained: float, final: float) -> None:
    assert untrained < UNTRAINED_BAR, untrained  # the knee spins: there is something to learn
    assert final > FINAL_BAR and final - untrained > GAIN_BAR, (untrained, final)
