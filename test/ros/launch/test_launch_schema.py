"""schema.validate: the accepted XML subset, checked before evaluation, with named refusals."""

from pathlib import Path

import pytest

from rl_control.ros.launch import schema
from rl_control.ros.launch.model import LaunchError, load_xml


def _validate(tmp_path: Path, body: str) -> None:
    path = tmp_path / "x.launch.xml"
    path.write_text(f'<?xml version="1.0"?>\n<launch>\n{body}\n</launch>\n')
    schema.validate(load_xml(path))


def test_the_subset_passes(tmp_path: Path) -> None:
    _validate(
        tmp_path,
        '<arg name="a" default="1"/><group><node exec="x" if="$(var a)">'
        '<param name="p" value="2"/><remap from="a" to="b"/></node></group>',
    )


@pytest.mark.parametrize(
    ("body", "match"),
    [('<executable cmd="ls"/>', "executable"),
     ('<node exec="x" required="true"/>', 'on_exit="shutdown"'),
     ('<node exec="x"><param name="p" value="1" if="true"/></node>', "if"),
     ("<node/>", "exec"),
     # ros2 launch (launch_ros's ComposableNodeContainer) fails on it at parse time
     ('<node_container exec="x" name="c"/>', "missing attribute 'namespace'")],
)  # fmt: skip
def test_refusals_name_the_problem(tmp_path: Path, body: str, match: str) -> None:
    with pytest.raises(LaunchError, match=match):
        _validate(tmp_path, body)
