"""Cyclone DDS configuration and QoS mapping for the embedded back-end (ROS 2 conventions)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from cyclonedds.qos import Policy, Qos
from cyclonedds.util import duration

from rl_control.ros.middleware.api import QoS

RANGES = ("LOCALHOST", "SUBNET", "OFF", "SYSTEM_DEFAULT")
# Unicast discovery probes one port pair per participant index: enough for a busy test machine.
MAX_PARTICIPANT_INDEX = 120


def domain_id(env: Mapping[str, str] | None = None) -> int:
    """ROS_DOMAIN_ID (default 0), validated like rcl (0..232)."""
    raw = (env if env is not None else os.environ).get("ROS_DOMAIN_ID", "").strip()
    if not raw:
        return 0
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"ROS_DOMAIN_ID={raw!r} is not an integer") from None
    if not 0 <= value <= 232:
        raise ValueError(f"ROS_DOMAIN_ID={value} is outside 0..232")
    return value


def discovery_range(env: Mapping[str, str] | None = None) -> str:
    """ROS_AUTOMATIC_DISCOVERY_RANGE (LOCALHOST by default, as in ROS 2 Jazzy)."""
    raw = (env if env is not None else os.environ).get("ROS_AUTOMATIC_DISCOVERY_RANGE", "")
    value = raw.strip().upper() or "LOCALHOST"
    if value not in RANGES:
        raise ValueError(f"ROS_AUTOMATIC_DISCOVERY_RANGE={raw!r} is not one of {RANGES}")
    return value


def cyclone_config(env: Mapping[str, str] | None = None) -> str | None:
    """Cyclone XML for the discovery range; None keeps Cyclone's defaults (SUBNET) or the
    user's own CYCLONEDDS_URI."""
    env = env if env is not None else os.environ
    rng = discovery_range(env)
    peers = [p for p in env.get("ROS_STATIC_PEERS", "").replace(",", ";").split(";") if p.strip()]
    if env.get("CYCLONEDDS_URI") or (rng in ("SUBNET", "SYSTEM_DEFAULT") and not peers):
        return None
    general = "<AllowMulticast>false</AllowMulticast>"
    peer_list = [p.strip() for p in peers]
    if rng == "LOCALHOST":
        general = '<Interfaces><NetworkInterface address="127.0.0.1"/></Interfaces>' + general
        peer_list.insert(0, "127.0.0.1")
    elif rng == "SUBNET":
        general = ""  # static peers added on top of multicast discovery
    peers_xml = "".join(f'<Peer address="{p}"/>' for p in peer_list)
    return (
        '<CycloneDDS><Domain Id="any">'
        f"<General>{general}</General>"
        "<Discovery><ParticipantIndex>auto</ParticipantIndex>"
        f"<MaxAutoParticipantIndex>{MAX_PARTICIPANT_INDEX}</MaxAutoParticipantIndex>"
        f"<Peers>{peers_xml}</Peers></Discovery>"
        "</Domain></CycloneDDS>"
    )


def dds_qos(
    qos: QoS, *, writer: bool, user_data: bytes | None = None, lifespan_s: float | None = None
) -> Qos:
    """ROS QoS profile -> Cyclone reader/writer QoS (XCDR1, as rmw_cyclonedds_cpp uses);
    lifespan_s sets the writer's LIFESPAN (rcl's /rosout profile uses 10 s)."""
    policies: list = [
        Policy.Reliability.Reliable(duration(milliseconds=100))
        if qos.reliability == "reliable"
        else Policy.Reliability.BestEffort,
        Policy.Durability.TransientLocal
        if qos.durability == "transient_local"
        else Policy.Durability.Volatile,
        Policy.History.KeepLast(qos.depth)
        if qos.history == "keep_last"
        else Policy.History.KeepAll,
        Policy.DataRepresentation(use_cdrv0_representation=True),
    ]
    if writer and qos.durability == "transient_local":
        history = (
            Policy.History.KeepLast(qos.depth)
            if qos.history == "keep_last"
            else Policy.History.KeepAll
        )
        policies.append(Policy.DurabilityService(0, history, -1, -1, -1))
    if user_data is not None:
        policies.append(Policy.Userdata(user_data))
    if lifespan_s is not None:
        policies.append(Policy.Lifespan(duration(seconds=lifespan_s)))
    return Qos(*policies)
