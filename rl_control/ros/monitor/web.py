"""`rl-control monitor`'s browser page, drawn by viser (URDFs through yourdfpy).

The page holds the robot in 3D (robot_description, posed by robot_joint_states and moved
by odometry), the latest MPC plan as a line strip, the learning curve (mean return over
env steps, uPlot) with the latest statistics, and the topic table with rates and
publishers. viser serves the page and pushes changes over a websocket; :meth:`WebView.update`
sends only what changed since the last call.

Posing the robot is the view's largest cost (a message per moved joint frame:
:class:`~rl_control.ros.monitor.robot_scene.RobotScene` sends only those), so it is done only
while a page is open, at most every ``pose_period`` s (default 0.1: 10 Hz, `--pose-period`):
with no client the joints, base and plan are kept in the monitor's state and drawn when one
connects (viser then sends the scene as it stands; the next update poses it). The plan is
one line-segments node whose points are replaced while its length stays the same.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from rl_control.ros.monitor.robot_scene import RobotScene
from rl_control.ros.monitor.state import GraphMonitor
from rl_control.ros.monitor.tui import SAMPLED_NOTE, rate_text, stats_text, unwatched_note


def require_viser() -> None:
    """One-line error when the browser view's packages are missing."""
    try:
        import viser  # noqa: F401
        import yourdfpy  # noqa: F401
    except ImportError as exc:
        raise SystemExit(
            f"rl-control monitor: the browser view needs viser and yourdfpy ({exc}); "
            "pip install 'rl_control[monitor]', or use --tui"
        ) from None


def markdown_table(monitor: GraphMonitor) -> str:
    """The topic table as markdown (rates in Hz, message counts, publishers)."""
    lines = ["| topic | Hz | count | publishers |", "| --- | ---: | ---: | --- |"]
    for r in monitor.rates.rows():
        lines.append(f"| `{r.name}` | {rate_text(r)} | {r.count} | {r.publishers} |")
    sampled = SAMPLED_NOTE if any(r.sampled for r in monitor.rates.rows()) else ""
    notes = "\n\n".join(filter(None, (sampled, unwatched_note(monitor))))
    return "\n".join(lines) + (f"\n\n{notes}" if notes else "")


class WebView:
    """A viser server showing one :class:`GraphMonitor`."""

    def __init__(
        self, monitor: GraphMonitor, host: str = "127.0.0.1", port: int = 8080,
        table_period: float = 1.0, clock: Callable[[], float] = time.monotonic,
        pose_period: float = 0.1,
    ) -> None:  # fmt: skip
        import viser
        import viser.uplot

        self.monitor, self.clock, self.table_period = monitor, clock, table_period
        self.pose_period = pose_period
        self.server = viser.ViserServer(host=host, port=port, verbose=False)
        self.server.gui.configure_theme(control_width="large")
        self.server.scene.add_grid("/grid", width=2.0, height=2.0, cell_size=0.1)
        # the tasks' robots are about a metre: look at them from a couple of metres away
        self.server.initial_camera.position = (0.0, -2.2, 1.2)
        self.server.initial_camera.look_at = (0.0, 0.0, 0.3)
        self.base = self.server.scene.add_frame("/robot", show_axes=False)
        self.urdf: RobotScene | None = None
        self.plan = None  # the plan's line segments, once there is a plan
        self._description, self._version, self._table_at = "", -1, -1e9
        self._curve_len = -1
        self._posed, self._posed_at = -1, -1e9  # the state version last posed, and when
        self.status = self.server.gui.add_markdown("**rl_control monitor**: waiting for the graph")
        self.curve = self.server.gui.add_uplot(
            data=(np.zeros(1), np.zeros(1)),
            series=(viser.uplot.Series(label="env steps"),
                    viser.uplot.Series(label="mean return", stroke="blue", width=2)),
            title="learning curve", aspect=1.6, scales={"x": {"time": False}},
        )  # fmt: skip
        self.stats = self.server.gui.add_markdown("training_stats: none yet")
        self.table = self.server.gui.add_markdown(markdown_table(monitor))

    @property
    def port(self) -> int:
        """The port actually served (viser moves on when the asked one is taken)."""
        return self.server.get_port()

    def update(self) -> None:
        """Push what changed: model, joints, pose, plan, curve, stats, table."""
        state = self.monitor.state
        if state.description and state.description != self._description:
            self._load_robot(state.description)
        due = self.clock() - self._posed_at >= self.pose_period
        if state.version != self._posed and due and self.server.get_clients():
            self._posed, self._posed_at = state.version, self.clock()
            self._pose()
        if state.version != self._version:
            self._version = state.version
            if len(state.curve) != self._curve_len:
                self._curve_len = len(state.curve)
                xs, ys = zip(*state.curve, strict=True) if state.curve else ((0.0,), (0.0,))
                self.curve.data = (np.asarray(xs, float), np.asarray(ys, float))
                self.stats.content = f"```\n{stats_text(state)}\n```"
        if self.clock() - self._table_at >= self.table_period:
            self._table_at = self.clock()
            self.table.content = markdown_table(self.monitor)

    def _load_robot(self, description: str) -> None:
        self._description = description
        if self.urdf is not None:
            self.urdf.remove()
        self.urdf = RobotScene(self.server.scene, description, root="/robot")
        name, count = self.urdf.model.name, len(self.urdf.joint_names)
        self.status.content = f"**robot**: `{name}`, {count} moving joints"

    def _pose(self) -> None:
        state = self.monitor.state
        if self.urdf is not None:
            self.urdf.pose(state.joints)
        if state.base is not None:
            self.base.position, self.base.wxyz = state.base
        if len(state.plan) >= 2:
            points = np.asarray(state.plan, np.float32)
            segments = np.stack([points[:-1], points[1:]], axis=1)
            if self.plan is not None and self.plan.points.shape == segments.shape:
                self.plan.points = segments
            else:
                self.plan = self.server.scene.add_line_segments(
                    "/plan", segments, colors=(255, 80, 0)
                )

    def close(self) -> None:
        self.server.stop()
