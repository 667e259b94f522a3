"""What posing a robot on the monitor's page costs: viser's ``ViserUrdf`` against ours.

Each task's robot is loaded twice, on two viser servers of this process with a page open on
each (bench/viser_page.py), once as ``ViserUrdf`` and once as the monitor's
:class:`~rl_control.ros.monitor.robot_scene.RobotScene`. Both are posed along the same
random walk of every movable joint (all of them move at every pose, as on a walking robot:
the worst case for ours, which sends only moved joints), in alternating blocks of
``--poses`` poses; a block's cost is the CPU seconds of this whole process over it (viser
serialises and sends on its own threads), after its messages were sent. Median over the
blocks of each side; the ratio is of the medians.

    python bench/monitor_pose.py [--blocks 10] [--poses 100]
"""

from __future__ import annotations

import argparse
import io
import socket
import time

import numpy as np
from results_table import start_run, write_markdown
from viser_page import open_page

TASKS = ("soft_wall_cartpole", "two_link_leg", "minitaur", "quadruped12")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _block_cpu_ms(pose, walk: np.ndarray) -> float:
    """CPU ms of this process per pose over one block (plus the time to send its messages)."""
    start = time.process_time()
    for cfg in walk:
        pose(cfg)
    time.sleep(0.05)  # the server's threads send what was queued (sleeping costs no CPU)
    return (time.process_time() - start) / len(walk) * 1e3


def measure(task: str, blocks: int, poses: int, seed: int = 0) -> tuple[int, float, float]:
    """(moving joints, viser's ms per pose, ours) for one task."""
    import viser
    import yourdfpy
    from viser.extras import ViserUrdf

    from rl_control.robot.description import task_urdf
    from rl_control.ros.monitor.robot_scene import RobotScene

    urdf = task_urdf(task)
    servers = [viser.ViserServer(host="127.0.0.1", port=_free_port(), verbose=False)
               for _ in range(2)]  # fmt: skip
    try:
        model = yourdfpy.URDF.load(io.StringIO(urdf), build_collision_scene_graph=False,
                                   load_collision_meshes=False)  # fmt: skip
        theirs = ViserUrdf(servers[0], model, root_node_name="/robot")
        ours = RobotScene(servers[1].scene, urdf, root="/robot")
        names = ours.joint_names
        sides = {
            "viser": theirs.update_cfg,
            "ours": lambda cfg: ours.pose(dict(zip(names, cfg, strict=True))),
        }
        rng = np.random.default_rng(seed)
        costs: dict[str, list[float]] = {side: [] for side in sides}
        with open_page(servers[0].get_port()), open_page(servers[1].get_port()):
            time.sleep(0.5)  # both pages have the scene
            for b in range(blocks):
                walk = np.cumsum(rng.normal(0.0, 0.02, (poses, len(names))), axis=0)
                order = list(sides) if b % 2 == 0 else list(sides)[::-1]
                for side in order:
                    costs[side].append(_block_cpu_ms(sides[side], walk))
        return len(names), float(np.median(costs["viser"])), float(np.median(costs["ours"]))
    finally:
        for server in servers:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=10)
    parser.add_argument("--poses", type=int, default=100)
    parser.add_argument("--tasks", nargs="+", default=list(TASKS))
    args = parser.parse_args()
    if args.blocks < 2 or args.poses < 1:
        parser.error("--blocks must be at least 2 and --poses at least 1")
    run = start_run(env_vars=("OMP_NUM_THREADS",))
    rows = []
    for task in args.tasks:
        joints, theirs, ours = measure(task, args.blocks, args.poses)
        rows.append([task, joints, f"{theirs:.2f}", f"{ours:.2f}", f"{theirs / ours:.1f}×"])
        print(rows[-1], flush=True)
    write_markdown(
        "monitor_pose", "Posing the robot on a watched monitor page: CPU ms per pose",
        ["task", "moving joints", "viser's ViserUrdf", "ours (RobotScene)", "ratio"], rows,
        [f"Median over {args.blocks} alternating blocks of {args.poses} poses each; every "
         "joint moves at every pose; a page open on each server (bench/viser_page.py)."],
        run=run,
    )  # fmt: skip


if __name__ == "__main__":
    main()
