"""Back-end-neutral pieces of the facade: QoS profiles (api) and array/time helpers (convert)."""

import array

import numpy as np
import pytest

from rl_control.ros.middleware import api, convert


def test_qos_shorthand_and_validation() -> None:
    assert api.as_qos(7) == api.QoS(depth=7)
    assert api.as_qos(api.QOS_LATCHED).durability == "transient_local"
    with pytest.raises(ValueError, match="depth must be a positive int"):
        api.QoS(depth=0)
    with pytest.raises(ValueError, match="'sometimes' is not one of"):
        api.QoS(reliability="sometimes")
    with pytest.raises(TypeError, match="int depth or a QoS"):
        api.as_qos(True)


def test_time_round_trip_and_arrays() -> None:
    class Time:
        def __init__(self, sec: int, nanosec: int) -> None:
            self.sec, self.nanosec = sec, nanosec

    stamp = convert.seconds_to_stamp(12.25, Time)
    assert (stamp.sec, stamp.nanosec) == (12, 250_000_000)
    assert convert.stamp_to_seconds(stamp) == pytest.approx(12.25)
    neg = convert.seconds_to_stamp(-0.5, Time)  # ROS Time: sec floors, nanosec stays positive
    assert (neg.sec, neg.nanosec) == (-1, 500_000_000)
    with pytest.raises(ValueError, match="non-finite"):
        convert.seconds_to_stamp(float("nan"), Time)
    got = convert.to_numpy(array.array("d", [1.0, 2.5]))
    assert got.dtype == np.float64 and got.tolist() == [1.0, 2.5]
