"""rl_control.roles.hardware_lifecycle: its state and transition ids are lifecycle_msgs' own
(the message definitions shipped with the middleware), so ros2 lifecycle tools drive it."""

import re
from pathlib import Path

from rl_control.roles.hardware_lifecycle import STATES, TRANSITIONS

MSGS = (Path(__file__).resolve().parents[2]
        / "rl_control/ros/middleware/interfaces/lifecycle_msgs/msg")  # fmt: skip


def _constants(name: str) -> dict[str, int]:
    text = (MSGS / f"{name}.msg").read_text()
    return {m[1]: int(m[2]) for m in re.finditer(r"uint8 (\w+) = (\d+)", text)}


def test_state_ids_are_lifecycle_msgs_primary_states() -> None:
    states = _constants("State")
    for state, label in STATES.items():
        assert states[f"PRIMARY_STATE_{label.upper()}"] == state


def test_transition_ids_are_lifecycle_msgs_and_lead_between_primary_states() -> None:
    ids = _constants("Transition")
    named = {"configure": "CONFIGURE", "cleanup": "CLEANUP", "activate": "ACTIVATE",
             "deactivate": "DEACTIVATE"}  # fmt: skip
    for transition, (label, start, goal) in TRANSITIONS.items():
        assert start in STATES and goal in STATES
        if label == "shutdown":  # one id per start state, as lifecycle_msgs numbers them
            assert transition == ids[f"TRANSITION_{STATES[start].upper()}_SHUTDOWN"]
            assert goal == 4  # finalized
        else:
            assert transition == ids[f"TRANSITION_{named[label]}"]
