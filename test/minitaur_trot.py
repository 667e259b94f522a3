"""An open-loop trot for the Minitaur (task convention): test motion for the leg odometry.

Diagonal legs in phase, each foot on an ellipse in swing and extension at ``hz``; on the
settled robot it bounds backwards at about 0.35 m/s, feet slipping at times: a hard case.
"""

import numpy as np

from rl_control.tasks.minitaur import LEGS
from rl_control.tasks.minitaur_legs import FRAMES

PHASE = {"front_left": 0.0, "back_right": 0.0, "front_right": np.pi, "back_left": np.pi}


def trot(t: float, hz: float = 2.0, swing: float = 0.35, extension: float = 0.25) -> np.ndarray:
    """The 8 desired motor angles at time ``t``."""
    action = np.zeros(8)
    for leg, (*_, forward, backward) in zip(LEGS, FRAMES, strict=True):
        w = 2 * np.pi * hz * t + PHASE[leg]
        s, e = swing * np.sin(w), extension * np.cos(w)
        action[forward], action[backward] = np.pi / 2 - s + e, np.pi / 2 + s + e
    return action
