"""Resolution of synthetic launch files: args, let, conditions, groups, includes, refusals."""

from pathlib import Path

import pytest

from rl_control.ros.launch import LaunchError, declared_arguments, resolve_launch
from rl_control.ros.launch.resolver import param_value


def _write(tmp_path: Path, body: str, name: str = "main.launch.xml") -> Path:
    path = tmp_path / name
    path.write_text(f'<?xml version="1.0"?>\n<launch>\n{body}\n</launch>\n')
    return path


def _resolve(tmp_path: Path, body: str, **args: str):
    return resolve_launch(_write(tmp_path, body), args, environ={"PATH": "/usr/bin"})


def _params(node) -> list[str]:
    return [value for flag, value in node.parameters if flag == "-p"]


def test_arg_default_cli_override_and_let(tmp_path: Path) -> None:
    body = """
    <arg name="a" default="one"/>
    <arg name="b" default="$(var a)-two"/>
    <let name="c" value="$(var b)!"/>
    <node exec="/bin/true" name="n"><param name="p" value="$(var c)"/></node>"""
    assert _params(_resolve(tmp_path, body).nodes[0]) == ["p:=one-two!"]
    assert _params(_resolve(tmp_path, body, a="x").nodes[0]) == ["p:=x-two!"]
    assert _params(_resolve(tmp_path, body, b="set").nodes[0]) == ["p:=set!"]


def test_missing_required_argument_is_named(tmp_path: Path) -> None:
    with pytest.raises(
        LaunchError, match=r"main.launch.xml:3: <arg>: missing launch argument 'x'"
    ):
        _resolve(tmp_path, '<arg name="x" description="needed"/>')


def test_choices_are_checked(tmp_path: Path) -> None:
    body = '<arg name="mode" default="a"><choice value="a"/><choice value="b"/></arg>'
    assert _resolve(tmp_path, body, mode="b").configurations["mode"] == "b"
    with pytest.raises(LaunchError, match="'mode' is 'c', valid choices: a, b"):
        _resolve(tmp_path, body, mode="c")


@pytest.mark.parametrize(
    ("flag", "started"),
    [("true", True), ("1", True), ("True", True), ("false", False), ("0", False)],
)
def test_if_and_unless(tmp_path: Path, flag: str, started: bool) -> None:
    body = """
    <arg name="on" default="true"/>
    <node exec="/bin/true" name="yes" if="$(var on)"/>
    <node exec="/bin/true" name="no" unless="$(var on)"/>"""
    names = [n.name for n in _resolve(tmp_path, body, on=flag).nodes]
    assert names == (["yes"] if started else ["no"])


def test_bad_condition_and_both_conditions_are_refused(tmp_path: Path) -> None:
    with pytest.raises(LaunchError, match="invalid condition 'maybe'"):
        _resolve(tmp_path, '<node exec="/bin/true" if="maybe"/>')
    with pytest.raises(LaunchError, match="'if' and 'unless' cannot be used together"):
        _resolve(tmp_path, '<node exec="/bin/true" if="1" unless="0"/>')


def test_group_scopes_configurations_and_namespace(tmp_path: Path) -> None:
    body = """
    <let name="x" value="outer"/>
    <group>
      <let name="x" value="inner"/>
      <push-ros-namespace namespace="robot1"/>
      <group>
        <push-ros-namespace namespace="arm"/>
        <node exec="/bin/true" name="deep"><param name="x" value="$(var x)"/></node>
      </group>
      <node exec="/bin/true" name="mid" namespace="sub"/>
      <node exec="/bin/true" name="abs" namespace="/top"/>
    </group>
    <node exec="/bin/true" name="plain"><param name="x" value="$(var x)"/></node>"""
    nodes = {n.name: n for n in _resolve(tmp_path, body).nodes}
    assert nodes["deep"].namespace == "/robot1/arm"
    assert _params(nodes["deep"]) == ["x:=inner"]
    assert nodes["mid"].namespace == "/robot1/sub"
    assert nodes["abs"].namespace == "/top"
    assert nodes["plain"].namespace is None
    assert _params(nodes["plain"]) == ["x:=outer"]
    assert not any(a.startswith("__ns:=") for a in nodes["plain"].command())


def test_include_passes_args_and_is_not_scoped(tmp_path: Path) -> None:
    """As in launch, <include> sets its args in the current scope: wrap it in <group> to scope."""
    _write(
        tmp_path,
        '<arg name="who"/><let name="leak" value="from-child"/>'
        '<node exec="/bin/true" name="$(var who)"/>',
        "child.launch.xml",
    )
    body = f"""
    <include file="{tmp_path}/child.launch.xml"><arg name="who" value="first"/></include>
    <group>
      <include file="$(var dir)/child.launch.xml"><arg name="who" value="second"/></include>
    </group>
    <node exec="/bin/true" name="parent"><param name="who" value="$(var who)"/></node>"""
    plan = _resolve(tmp_path, body, dir=str(tmp_path))
    assert [n.name for n in plan.nodes] == ["first", "second", "parent"]
    assert _params(plan.nodes[2]) == ["who:=first"]
    assert plan.configurations["leak"] == "from-child"


def test_included_required_argument_and_missing_file(tmp_path: Path) -> None:
    _write(tmp_path, '<arg name="who"/>', "child.launch.xml")
    with pytest.raises(LaunchError, match=r"child.launch.xml:3: <arg>: missing launch argument"):
        _resolve(tmp_path, f'<include file="{tmp_path}/child.launch.xml"/>')
    with pytest.raises(LaunchError, match=r"<include>: included file not found: .*nope.xml"):
        _resolve(tmp_path, f'<include file="{tmp_path}/nope.xml"/>')


def test_recursive_include_stops(tmp_path: Path) -> None:
    with pytest.raises(LaunchError, match="includes nested deeper than"):
        _resolve(tmp_path, f'<include file="{tmp_path}/main.launch.xml"/>')


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('<rosparam file="x"/>', r"main.launch.xml:3: <rosparam>: unsupported tag <rosparam>"),
        ('<node exec="a" required="true"/>', r"unsupported attribute 'required' .*on_exit"),
        (
            '<node exec="a"><env name="A" value="1"/></node>',
            r"unsupported tag <env> inside <node>",
        ),
        ('<node exec="a" on_exit="restart"/>', "on_exit supports only 'shutdown'"),
        ('<node exec="a"><param name="p" value="1" if="1"/></node>', "unsupported attribute 'if'"),
        ('<node exec="a"><param name="p"><param name="q" value="1"/></param></node>', "nested"),
        ('<node exec="a"><param name="p" from="f"/></node>', "exactly one of 'name' or 'from'"),
        ('<node exec="a" name="bad-name"/>', "invalid node name 'bad-name'"),
        ('<node exec="a" namespace="9bad"/>', "invalid namespace '/9bad'"),
        ('<node exec="a" respawn="$(var r)" respawn_delay="$(var d)"/>', "respawn_delay must be"),
        ('<group scoped="false"/>', "unsupported attribute 'scoped'"),
        ("<node/>", "missing attribute 'exec'"),
        # refused even in a branch that is never taken: the whole file is checked first
        ('<group if="false"><let name="x" value="$(command ls)"/></group>', r"\$\(command"),
    ],
)
def test_refusals_name_tag_attribute_and_file(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(LaunchError, match=message) as info:
        _resolve(tmp_path, body, r="true", d="1")
    assert "main.launch.xml" in str(info.value)


def test_wrong_root_and_malformed_xml(tmp_path: Path) -> None:
    (tmp_path / "a.xml").write_text("<robot/>")
    with pytest.raises(LaunchError, match="root tag must be <launch>"):
        resolve_launch(tmp_path / "a.xml", {})
    (tmp_path / "b.xml").write_text("<launch><node></launch>")
    with pytest.raises(LaunchError, match=r"b.xml:1: malformed XML"):
        resolve_launch(tmp_path / "b.xml", {})


def test_node_command_line_order(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text("/**:\n  ros__parameters:\n    a: 1\n")
    body = f"""
    <node exec="/bin/echo" name="n" namespace="ns" output="screen" respawn="1" respawn_delay="0.5">
      <param from="{tmp_path}/p.yaml"/>
      <param name="a" value="2"/>
      <remap from="in" to="/other/in"/>
    </node>"""
    node = _resolve(tmp_path, body).nodes[0]
    assert node.command() == [
        "/bin/echo", "--ros-args", "-r", "__node:=n", "-r", "__ns:=/ns",
        "--params-file", str(tmp_path / "p.yaml"), "-p", "a:=2", "-r", "in:=/other/in",
    ]  # fmt: skip
    assert (node.respawn, node.respawn_delay, node.output) == (True, 0.5, "screen")


def test_missing_parameter_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(LaunchError, match="parameter file not found"):
        _resolve(tmp_path, f'<node exec="a"><param from="{tmp_path}/none.yaml"/></node>')


@pytest.mark.parametrize(
    ("text", "rendered"),
    [("1", "1"), ("1.5", "1.5"), ("true", "true"), ("abc", "abc"), ("", "''"),
     ("[1, 2]", "[1, 2]"), ("/a/b.yaml", "/a/b.yaml"), ("a: b", "'a: b'")],
)  # fmt: skip
def test_param_values_are_typed_like_launch_ros(text: str, rendered: str) -> None:
    assert param_value(text) == rendered


def test_shutdown_stops_resolution_and_log_is_collected(tmp_path: Path) -> None:
    body = """
    <log message="hello $(var who)"/>
    <node exec="/bin/true" name="before"/>
    <shutdown reason="stop $(var who)"/>
    <node exec="/bin/true" name="after"/>"""
    plan = _resolve(tmp_path, body, who="me")
    assert plan.messages == ["hello me"]
    assert plan.shutdown_reason == "stop me"
    assert [n.name for n in plan.nodes] == ["before"]


def test_declared_arguments_lists_defaults_choices_and_required(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        '<arg name="a" default="1" description="first"/>'
        '<group><arg name="b"><choice value="x"/><choice value="y"/></arg></group>',
    )
    args = {a.name: a for a in declared_arguments(path)}
    assert (args["a"].default, args["a"].description) == ("1", "first")
    assert (args["b"].default, args["b"].choices) == (None, ("x", "y"))


def test_a_node_container_is_one_process_with_each_composable_nodes_arguments(tmp_path) -> None:
    params = tmp_path / "p.yaml"
    params.write_text("/**:\n  ros__parameters: {a: 1}\n")
    body = f"""
    <push-ros-namespace namespace="ns"/>
    <node_container exec="/bin/true" name="box" namespace="" respawn="true" output="screen">
      <composable_node plugin="sim_bridge" name="bridge" namespace="w0">
        <param from="{params}"/>
        <param name="seed" value="3"/>
        <remap from="action" to="act"/>
      </composable_node>
      <composable_node plugin="policy_node" name="policy"/>
    </node_container>"""
    (spec,) = _resolve(tmp_path, body).nodes
    assert spec.name == "box" and spec.respawn and spec.namespace == "/ns"
    assert spec.args == [
        "sim_bridge", "--ros-args", "-r", "__node:=bridge", "-r", "__ns:=/ns/w0",
        "--params-file", str(params), "-p", "seed:=3", "-r", "action:=act", "--",
        "policy_node", "--ros-args", "-r", "__node:=policy", "-r", "__ns:=/ns", "--",
    ]  # fmt: skip
    assert spec.command()[-4:] == ["-r", "__node:=box", "-r", "__ns:=/ns"]


@pytest.mark.parametrize(
    ("inner", "message"),
    [
        ('<composable_node name="x"/>', "missing attribute 'plugin'"),
        ('<composable_node plugin="p" name="x"><node exec="y"/></composable_node>',
         "unsupported tag <node> inside <composable_node>"),
        ('<composable_node plugin="p" name="x" respawn="true"/>', "unsupported attribute"),
        ('<param name="a" value="1"/>', "unsupported tag <param> inside <node_container>"),
    ],
)  # fmt: skip
def test_node_container_refusals(tmp_path, inner, message) -> None:
    with pytest.raises(LaunchError, match=message):
        body = f'<node_container exec="/bin/true" name="c" namespace="">{inner}</node_container>'
        _resolve(tmp_path, body)
