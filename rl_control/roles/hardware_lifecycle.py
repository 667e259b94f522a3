"""The hardware bridge as a managed (lifecycle) node: ROS 2's lifecycle on the safety states.

- unconfigured: the bridge sends nothing (the robot's own controllers hold it);
- ``configure`` -> inactive: commands start, passive (damping);
- ``activate`` -> active: homing from the measured pose, then the policy's commands once
  homed inside the safe set with a policy sending (refused while the e-stop is latched);
- ``deactivate`` -> inactive: the policy's commands stop, the robot homes and holds home;
- ``cleanup`` -> unconfigured: damping, then nothing more is sent;
- ``shutdown`` (from any of them) -> finalized: damping, and the node exits.

Faults and the e-stop stay the safety core's: they do not change the lifecycle state (the
operator's ``home``/``release_estop`` work as without lifecycle). The same states and
transitions run on both back-ends: the node serves them as lifecycle_msgs services.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rl_control.robot.safety import Mode

if TYPE_CHECKING:
    from rl_control.roles.hardware_role import HardwareBridgeRole

#: lifecycle_msgs/State ids and labels of the primary states
STATES = {1: "unconfigured", 2: "inactive", 3: "active", 4: "finalized"}
#: lifecycle_msgs/Transition id -> (label, from state, to state)
TRANSITIONS = {
    1: ("configure", 1, 2), 2: ("cleanup", 2, 1), 3: ("activate", 2, 3),
    4: ("deactivate", 3, 2), 50: ("shutdown", 1, 4), 51: ("shutdown", 2, 4),
    52: ("shutdown", 3, 4),
}  # fmt: skip


class BridgeLifecycle:
    """The lifecycle state of one hardware bridge role and its transitions."""

    def __init__(self, role: HardwareBridgeRole) -> None:
        self.role, self.safety = role, role.safety
        self.state = 1

    @property
    def label(self) -> str:
        return STATES[self.state]

    @property
    def commanding(self) -> bool:
        """Whether the bridge sends commands (inactive or active)."""
        return self.state in (2, 3)

    def resolve(self, transition: int, label: str = "") -> int:
        """A ChangeState request's transition id (by ``label`` when the id is 0; shutdown
        by label or id 5 picks the one from the current state); 0 when there is none."""
        if transition == 5 or (transition == 0 and label == "shutdown"):
            return {1: 50, 2: 51, 3: 52}.get(self.state, 0)
        if transition == 0:
            found = [t for t, (name, start, _) in TRANSITIONS.items()
                     if name == label and start == self.state]  # fmt: skip
            return found[0] if found else 0
        return transition

    def change(self, transition: int, label: str = "") -> tuple[bool, str]:
        """Run a transition; (success, why). A transition not valid from the current
        state, or that the safety core refuses, leaves the state as it was."""
        transition = self.resolve(int(transition), label)
        if transition not in TRANSITIONS or TRANSITIONS[transition][1] != self.state:
            return False, f"no transition {transition or label!r} from {self.label}"
        name, _, goal = TRANSITIONS[transition]
        if name == "activate":
            ok, why = self.role.reset_episode()  # homes; activates when homed and safe
            if not ok:
                return False, why
        elif name == "deactivate" and self.safety.mode in (Mode.ACTIVE, Mode.HOMING):
            self.role.pause(True)  # hold home, no episode pending
        elif name in ("configure", "cleanup", "shutdown") and self.safety.mode is not Mode.ESTOP:
            self.role.pause(True)
            self.safety.passive()
        self.state = goal
        return True, f"{name}: {self.label} (safety {self.safety.mode.value})"
