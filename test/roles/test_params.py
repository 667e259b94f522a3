"""One parameter source: the declarations in rl_control.roles.params against the
config files, the launch files and the README; duplicate and unknown keys are errors."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from rl_control.roles import params
from rl_control.roles.params import NODES, ParamSpec

ROOT = Path(__file__).resolve().parents[2]
CONFIG, LAUNCH = ROOT / "config", ROOT / "launch"


def test_a_default_must_have_the_declared_type() -> None:
    with pytest.raises(ValueError, match="'gain': default 1 is not a float"):
        ParamSpec("gain", float, 1, "an int default would make the parameter an integer")
    with pytest.raises(ValueError, match="is not a int"):
        ParamSpec("count", int, True, "bool is no int here")


def test_duplicate_yaml_keys_are_refused(tmp_path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("/**/policy_node:\n  ros__parameters:\n    seed: 1\n    seed: 2\n")
    with pytest.raises(ValueError, match=r"duplicate YAML keys \['seed'\] at line 3"):
        params.load_yaml(path)


@pytest.mark.parametrize("path", sorted(CONFIG.rglob("*.yaml")), ids=lambda p: p.name)
def test_no_config_file_repeats_a_key(path: Path) -> None:
    params.load_yaml(path)


@pytest.mark.parametrize("node", sorted(NODES))
def test_each_node_file_lists_every_parameter_with_its_declared_default(node: str) -> None:
    values = params.node_yaml_parameters(node, CONFIG / f"{node}.yaml")
    assert list(values) == [s.name for s in NODES[node]]  # all of them, in the same order
    assert values == {s.name: s.default for s in NODES[node]}


def test_unknown_keys_and_wrong_types_are_errors(tmp_path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("/**/sim_bridge:\n  ros__parameters:\n    lock_stepp: true\n")
    with pytest.raises(ValueError, match=r"unknown sim_bridge parameters \['lock_stepp'\]"):
        params.node_yaml_parameters("sim_bridge", path)
    path.write_text("/**/sim_bridge:\n  ros__parameters:\n    step_timeout: one\n")
    with pytest.raises(ValueError, match="sim_bridge.step_timeout = 'one' is not a float"):
        params.node_yaml_parameters("sim_bridge", path)
    path.write_text("/**/policy_node:\n  ros__parameters:\n    checkpoint: ''\n")
    with pytest.raises(ValueError, match="expected exactly /\\*\\*/sim_bridge"):
        params.node_yaml_parameters("sim_bridge", path)


def test_the_readme_table_is_the_generated_one() -> None:
    readme = (ROOT / "README.md").read_text()
    assert params.with_readme_table(readme) == readme, (
        "README parameter table is stale: python -m rl_control.roles.params README.md"
    )
    assert "| `trainer_node` | `checkpoint_every` | int | `0` |" in params.readme_table()


# --- launch files ------------------------------------------------------------------------
def _launch_tree(text: str) -> ET.Element:
    """The XML with its comments kept (they say why a default is flipped)."""
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))
    return ET.fromstring(text, parser=parser)


def _bool_defaults() -> dict[str, bool]:
    """Bool parameter name -> default, for names every node declaring them agrees on."""
    seen: dict[str, set[bool]] = {}
    for specs in NODES.values():
        for s in specs:
            if s.type is bool:
                seen.setdefault(s.name, set()).add(s.default)
    return {name: next(iter(d)) for name, d in seen.items() if len(d) == 1}


def _silent_flips(root: ET.Element) -> list[str]:
    """Literal bool values of params and args that flip a node's default with no comment
    right before them."""
    flips, defaults = [], _bool_defaults()
    for parent in root.iter():
        children = list(parent)
        for i, el in enumerate(children):
            if el.tag not in ("param", "arg") or el.get("name") not in defaults:
                continue
            value = el.get("value", el.get("default"))
            if value not in ("true", "false") or (value == "true") == defaults[el.get("name")]:
                continue
            if i == 0 or children[i - 1].tag is not ET.Comment:
                flips.append(f"<{el.tag} name={el.get('name')!r} {value}>")
    return flips


@pytest.mark.parametrize("path", sorted(LAUNCH.glob("*.launch.xml")), ids=lambda p: p.name)
def test_launch_files_set_declared_parameters_and_explain_flipped_defaults(path: Path) -> None:
    root = _launch_tree(path.read_text())
    for node in [*root.iter("node"), *root.iter("composable_node")]:
        exe = node.get("exec", node.get("plugin"))  # a composable node's plugin is its node
        if node.get("pkg") != "rl_control":  # rviz2: a ROS 2 tool, only the backend's file
            names = [Path(p.get("from", "")).name for p in node.iter("param")]
            assert all(n.startswith("backend_") for n in names), (path.name, exe, names)
            continue
        declared = {s.name for s in NODES[exe]}
        for param in node.iter("param"):
            if param.get("from") is not None:
                name = Path(param.get("from")).name  # the node's own file or a backend's
                assert name == f"{exe}.yaml" or name.startswith("backend_"), (path.name, name)
            else:
                assert param.get("name") in declared, (path.name, exe, param.get("name"))
    assert _silent_flips(root) == [], f"{path.name}: say why in a comment just before"


def test_a_flip_without_a_comment_is_found() -> None:
    xml = '<launch><node exec="policy_node"><param name="deterministic" value="true"/></node>'
    assert _silent_flips(ET.fromstring(xml + "</launch>")) == ["<param name='deterministic' true>"]
    commented = "<launch><!-- why --><arg name='deterministic' default='true'/></launch>"
    assert _silent_flips(_launch_tree(commented)) == []
    same = "<launch><arg name='lock_step' default='true'/></launch>"  # the default: fine
    assert _silent_flips(ET.fromstring(same)) == []


def test_nodes_declare_their_parameters_from_the_table_only() -> None:
    """Each node module declares through params.declare, never inline."""
    for node in NODES:
        source = (ROOT / "rl_control" / "ros" / "nodes" / f"{node}.py").read_text()
        assert "declare_parameter" not in source, node
        assert re.search(rf"declare\(node, {node.upper()}\)", source), node
