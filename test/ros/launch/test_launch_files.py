"""The project's launch files and node parameter files, resolved as the runner sees them."""

import math
from pathlib import Path

import pytest
import yaml

from rl_control.ros.launch import (
    LaunchError,
    declared_arguments,
    find_package_share,
    resolve_executable,
    resolve_launch,
)
from rl_control.ros.launch.checks import check_plan

ROOT = Path(__file__).resolve().parents[3]
LAUNCH = ROOT / "launch"
CONFIG = ROOT / "config"
ENV = {"PATH": "/usr/bin:/bin"}  # no AMENT_PREFIX_PATH: the source tree is the share dir


def _plan(name: str, **args: str):
    return resolve_launch(LAUNCH / name, args, environ=ENV)


def _params(node) -> dict[str, str]:
    return dict(v.split(":=", 1) for f, v in node.parameters if f == "-p")


def _files(node) -> list[str]:
    return [Path(v).name for f, v in node.parameters if f == "--params-file"]


def test_share_dir_is_the_source_tree_without_ament() -> None:
    assert find_package_share("rl_control", ENV) == ROOT
    with pytest.raises(LaunchError, match="package 'nav2_bringup' not found"):
        find_package_share("nav2_bringup", ENV)


def test_ament_index_wins_and_gives_the_lib_executable(tmp_path: Path) -> None:
    (tmp_path / "share/ament_index/resource_index/packages").mkdir(parents=True)
    (tmp_path / "share/ament_index/resource_index/packages/rl_control").write_text("")
    exe = tmp_path / "lib/rl_control/sim_bridge"
    exe.parent.mkdir(parents=True)
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    env = {**ENV, "AMENT_PREFIX_PATH": f"/nonexistent:{tmp_path}"}
    assert find_package_share("rl_control", env) == tmp_path / "share/rl_control"
    assert resolve_executable("rl_control", "sim_bridge", env) == [str(exe)]
    # not in lib/: console script on PATH, else the module fallback
    argv = resolve_executable("rl_control", "trainer_node", env)
    assert argv[-2:] == ["-m", "rl_control.ros.nodes.trainer_node"]


def test_train_defaults() -> None:
    plan = _plan("train.launch.xml")
    nodes = {n.name: n for n in plan.nodes}
    assert list(nodes) == [
        "sim_bridge", "state_estimator", "robot_publisher", "policy_node", "trainer_node",
    ]  # fmt: skip
    assert all(n.namespace == "/" and n.package == "rl_control" for n in plan.nodes)
    assert all(n.executable == n.name for n in plan.nodes)
    assert [n.name for n in plan.nodes if n.shutdown_on_exit] == ["trainer_node"]
    # every node but the trainer, whose exit ends the run, comes back if it dies
    respawned = [n.name for n in plan.nodes if n.respawn]
    assert respawned == ["sim_bridge", "state_estimator", "robot_publisher", "policy_node"]
    assert nodes["robot_publisher"].remappings == [("robot_joint_states", "robot_joint_states")]
    assert _files(nodes["sim_bridge"]) == ["backend_pybullet.yaml", "sim_bridge.yaml"]
    config = str(CONFIG / "train" / "ppo_soft_wall_cartpole.yaml")
    assert _params(nodes["sim_bridge"]) == {
        "task": "soft_wall_cartpole", "config": config, "seed": "0", "lock_step": "true",
        "reset_on_termination": "false", "trainer_gate": "true", "gui": "false",
    }  # fmt: skip
    # the trainer's config builds the world: its env section is the bridge's and estimator's
    assert _params(nodes["state_estimator"])["config"] == config
    assert _params(nodes["policy_node"]) == {
        "deterministic": "false", "on_deadline_miss": "publish_late", "swap_mid_episode": "true",
        "seed": "0", "numpy_forward": "true",
        "max_observation_age": "0.0",  # lock-step: no age against a shared /clock
    }  # fmt: skip
    trainer = _params(nodes["trainer_node"])
    assert trainer["config"] == config
    # "" (YAML ''): the trainer picks a new runs/ppo_soft_wall_cartpole_seed0[_N], as
    # rl-control train does, and continues a run only with resume:=true
    assert (trainer["run_dir"], trainer["resume"], trainer["force_resume"]) == (
        "''",
        "false",
        "false",
    )
    assert (trainer["algo"], trainer["total_steps"]) == ("ppo", "0")


def test_train_arguments_reach_the_nodes() -> None:
    plan = _plan(
        "train.launch.xml", algo="sac", seed="3", steps="5000", namespace="robot1",
        run_dir="runs/mine", resume="true",
    )  # fmt: skip
    nodes = {n.name: n for n in plan.nodes}
    assert {n.namespace for n in plan.nodes} == {"/robot1"}
    trainer = _params(nodes["trainer_node"])
    assert trainer["config"].endswith("config/train/sac_soft_wall_cartpole.yaml")
    assert (trainer["seed"], trainer["total_steps"]) == ("3", "5000")
    assert (trainer["run_dir"], trainer["resume"]) == ("runs/mine", "true")
    assert _params(nodes["sim_bridge"])["seed"] == "3"
    custom = _plan("train.launch.xml", config="/tmp/my.yaml", workers="2", compose="true")
    assert _params(custom.nodes[-1])["config"] == "/tmp/my.yaml"
    containers = [n for n in custom.nodes if n.executable == "node_container"]
    hosted = [a for n in containers for a in n.args if a.startswith("config:=")]
    assert hosted == ["config:=/tmp/my.yaml"] * 4  # each worker's bridge and estimator


def test_train_on_hardware_gates_the_hardware_bridge_with_the_trainers_grants() -> None:
    plan = _plan("train.launch.xml", backend="hardware", task="two_link_leg", fake_robot="true")
    nodes = {n.name: n for n in plan.nodes}
    assert list(nodes) == ["hardware_bridge", "fake_ros2_control", "state_estimator",
                           "robot_publisher", "policy_node", "trainer_node"]  # fmt: skip
    assert _params(nodes["hardware_bridge"]) == {
        "robot": "two_link_leg", "robot_namespace": "''", "task": "two_link_leg",
        "auto_home": "true", "auto_activate": "true", "trainer_gate": "true",
        "thread_priority": "0", "cpu_dma_latency": "-1",
    }  # fmt: skip
    assert _params(nodes["state_estimator"])["base_source"] == "legs"
    assert _files(nodes["trainer_node"])[0] == "backend_hardware.yaml"
    # lock_step:=false (free-running training) has no grants to wait for
    plan = _plan("train.launch.xml", backend="hardware", task="two_link_leg", lock_step="false")
    bridge = next(n for n in plan.nodes if n.name == "hardware_bridge")
    assert _params(bridge)["trainer_gate"] == "false"


def test_deploy_thread_priority_raises_the_whole_control_chain() -> None:
    """deploy.launch.xml thread_priority:=80: bridge, estimator and policy node get it (the
    chain's three hops); by default every one keeps normal scheduling."""
    chain = ("hardware_bridge", "state_estimator", "policy_node")
    for given, expected in (({"thread_priority": "80"}, "80"), ({}, "0")):
        plan = _plan("deploy.launch.xml", backend="hardware", task="two_link_leg",
                     checkpoint="c.pt", **given)  # fmt: skip
        nodes = {n.name: n for n in plan.nodes}
        assert [_params(nodes[n])["thread_priority"] for n in chain] == [expected] * 3


def test_deploy_cpu_dma_latency_is_asked_by_the_hardware_bridge_alone() -> None:
    """deploy.launch.xml cpu_dma_latency:=0 reaches the hardware bridge (one PM QoS request
    covers the whole machine); by default nobody asks."""
    for given, expected in (({"cpu_dma_latency": "0"}, "0"), ({}, "-1")):
        plan = _plan("deploy.launch.xml", backend="hardware", task="two_link_leg",
                     checkpoint="c.pt", **given)  # fmt: skip
        asked = {n.name: _params(n)["cpu_dma_latency"] for n in plan.nodes
                 if "cpu_dma_latency" in _params(n)}  # fmt: skip
        assert asked == {"hardware_bridge": expected}


@pytest.mark.parametrize("name", ["sim.launch.xml", "deploy.launch.xml"])
def test_hardware_backend_runs_the_bridge_and_remaps_the_estimator(name: str) -> None:
    plan = _plan(name, backend="hardware", task="two_link_leg", checkpoint="c.pt")
    nodes = {n.name: n for n in plan.nodes}
    expected = ["hardware_bridge", "state_estimator", "robot_publisher"] + (
        ["policy_node"] if "deploy" in name else []
    )
    assert list(nodes) == expected
    bridge = nodes["hardware_bridge"]
    assert bridge.shutdown_on_exit and not bridge.respawn
    assert _files(bridge) == ["backend_hardware.yaml", "hardware_bridge.yaml"]
    # real legs: the operator homes and activates (services), never the launch
    assert _params(bridge) == {
        "robot": "two_link_leg", "robot_namespace": "''", "task": "two_link_leg",
        "auto_home": "false", "auto_activate": "false", "trainer_gate": "false",
        "thread_priority": "0", "cpu_dma_latency": "-1",
    }  # fmt: skip
    estimator = nodes["state_estimator"]
    assert _files(estimator)[0] == "backend_hardware.yaml"
    assert estimator.remappings == [("joint_states", "policy_joint_states"), ("imu", "policy_imu")]
    assert _params(estimator)["base_source"] == "legs"  # real legs: no ground-truth odometry
    if "deploy" in name:
        assert _files(nodes["policy_node"])[0] == "backend_hardware.yaml"
    # the joint TF tree from the policy's joint states (the robot's are in robot names)
    assert nodes["robot_publisher"].remappings == [("robot_joint_states", "policy_joint_states")]


def test_fake_robot_joins_and_homes_and_activates_by_itself() -> None:
    plan = _plan(
        "deploy.launch.xml", backend="hardware", fake_robot="true", robot="/r/leg.yaml",
        task="two_link_leg", seed="4", checkpoint="c.pt",
    )  # fmt: skip
    nodes = {n.name: n for n in plan.nodes}
    assert list(nodes) == [
        "hardware_bridge",
        "fake_ros2_control",
        "state_estimator",
        "robot_publisher",
        "policy_node",
    ]
    assert _params(nodes["hardware_bridge"])["robot"] == "/r/leg.yaml"
    assert _params(nodes["hardware_bridge"])["auto_home"] == "true"
    assert _params(nodes["hardware_bridge"])["auto_activate"] == "true"
    fake = nodes["fake_ros2_control"]
    assert _files(fake) == ["backend_hardware.yaml", "fake_ros2_control.yaml"]
    assert _params(fake) == {"robot": "/r/leg.yaml", "robot_namespace": "''", "seed": "4"}
    assert fake.shutdown_on_exit


def test_pybullet_estimator_keeps_its_topics() -> None:
    (estimator,) = [n for n in _plan("sim.launch.xml").nodes if n.name == "state_estimator"]
    assert estimator.remappings == [("joint_states", "joint_states"), ("imu", "imu")]


def test_hardware_parameter_files_list_what_the_launch_sets() -> None:
    plan = _plan("deploy.launch.xml", backend="hardware", fake_robot="true", checkpoint="c.pt")
    for node in plan.nodes[:2]:
        data = yaml.safe_load((CONFIG / f"{node.name}.yaml").read_text())
        assert set(_params(node)) <= set(data[f"/**/{node.name}"]["ros__parameters"]), node.name


def test_unknown_backend_lists_the_choices() -> None:
    with pytest.raises(
        LaunchError, match="'backend' is 'gazebo', valid choices: pybullet, hardware"
    ):
        _plan("train.launch.xml", backend="gazebo")


def test_deploy_needs_a_checkpoint_and_runs_deterministic() -> None:
    with pytest.raises(LaunchError, match="missing launch argument 'checkpoint'"):
        _plan("deploy.launch.xml")
    plan = _plan("deploy.launch.xml", checkpoint="/runs/x/policy.pt")
    nodes = {n.name: n for n in plan.nodes}
    assert list(nodes) == ["sim_bridge", "state_estimator", "robot_publisher", "policy_node"]
    assert _params(nodes["policy_node"]) == {
        "checkpoint": "/runs/x/policy.pt",
        "deterministic": "true",
        "deadline": "0.0",
        "on_deadline_miss": "publish_late",
        "thread_priority": "0",
    }
    assert nodes["policy_node"].shutdown_on_exit
    held = _plan("deploy.launch.xml", checkpoint="c.pt", on_deadline_miss="hold")
    assert _params(held.nodes[3])["on_deadline_miss"] == "hold"
    with pytest.raises(LaunchError, match="on_deadline_miss"):
        _plan("deploy.launch.xml", checkpoint="c.pt", on_deadline_miss="late")
    assert _params(nodes["sim_bridge"])["lock_step"] == "false"
    # the world the policy was trained in: the bridge and estimator read the checkpoint's env
    assert _params(nodes["sim_bridge"])["config"] == "/runs/x/policy.pt"
    assert _params(nodes["state_estimator"])["config"] == "/runs/x/policy.pt"


def test_sim_alone_runs_bridge_and_estimator_in_real_time() -> None:
    plan = _plan("sim.launch.xml", task="two_link_leg")
    assert [n.name for n in plan.nodes] == ["sim_bridge", "state_estimator", "robot_publisher"]
    assert _params(plan.nodes[0])["lock_step"] == "false"
    assert _params(plan.nodes[1]) == {
        "task": "two_link_leg",
        "config": "''",
        "base_source": "odometry",
        "thread_priority": "0",
    }


def test_show_args_of_train() -> None:
    args = {a.name: a for a in declared_arguments(LAUNCH / "train.launch.xml", ENV)}
    for name in ("task", "algo", "backend", "config", "seed", "steps", "run_dir", "namespace"):
        assert args[name].description
    assert args["backend"].choices == ("pybullet", "hardware")


def test_parameter_files_match_what_the_launch_files_set() -> None:
    plan = _plan("train.launch.xml")
    for node in plan.nodes:
        data = yaml.safe_load((CONFIG / f"{node.name}.yaml").read_text())
        assert list(data) == [f"/**/{node.name}"]
        declared = data[f"/**/{node.name}"]["ros__parameters"]
        # every per-launch override names a parameter the node's file documents
        assert set(_params(node)) <= set(declared), node.name
    for backend in ("pybullet", "hardware"):
        data = yaml.safe_load((CONFIG / f"backend_{backend}.yaml").read_text())
        assert data["/**"]["ros__parameters"]["use_sim_time"] is (backend == "pybullet")


def test_nodes_see_the_intended_parameters_through_ros_args() -> None:
    """The middleware's --ros-args parser (rcl rules) reads what the launch files produce."""
    ros_args = pytest.importorskip("rl_control.ros.middleware.ros_args")
    plan = _plan("train.launch.xml", namespace="robot1", steps="5000")
    seen = {}
    for node in plan.nodes:
        parsed = ros_args.parse_ros_args(node.command()[1:])
        seen[node.name] = ros_args.node_config(parsed, "unnamed")
    bridge = seen["sim_bridge"]
    assert (bridge.name, bridge.namespace) == ("sim_bridge", "/robot1")
    assert bridge.parameters["use_sim_time"] is True
    assert bridge.parameters["lock_step"] is True and bridge.parameters["step_timeout"] == 1.0
    assert seen["trainer_node"].parameters["total_steps"] == 5000
    assert seen["trainer_node"].parameters["checkpoint_every"] == 0  # env steps; 0 = config
    assert seen["policy_node"].parameters["deterministic"] is False
    assert seen["policy_node"].parameters["checkpoint"] == ""


@pytest.mark.parametrize("namespace", ["", "lab"])
def test_hardware_workers_each_get_their_own_robots_topics(namespace: str) -> None:
    """Two workers on real legs: worker k's bridge (and fake robot) take the robot YAML's
    topics under /[namespace/]worker_k, so two rigs feed one trainer; one worker keeps them
    as written."""
    plan = _plan("train.launch.xml", backend="hardware", task="two_link_leg", workers="2",
                 fake_robot="true", namespace=namespace)  # fmt: skip
    prefix = f"/{namespace}" if namespace else ""
    for kind in ("hardware_bridge", "fake_ros2_control"):
        nodes = [n for n in plan.nodes if n.name == kind]
        assert [(n.namespace, _params(n)["robot_namespace"]) for n in nodes] == [
            (f"{prefix}/worker_{k}", f"{prefix[1:]}/worker_{k}".lstrip("/")) for k in (0, 1)
        ]
    one = _plan("train.launch.xml", backend="hardware", task="two_link_leg", fake_robot="true")
    assert {_params(n).get("robot_namespace") for n in one.nodes
            if n.name in ("hardware_bridge", "fake_ros2_control")} == {"''"}  # fmt: skip


def _robot_namespaces(plan) -> list[tuple[str, str, str]]:
    """(node, its namespace, its robot_namespace) of each hardware bridge and fake robot."""
    return [(n.name, n.namespace, _params(n)["robot_namespace"]) for n in plan.nodes
            if n.name in ("hardware_bridge", "fake_ros2_control")]  # fmt: skip


HARDWARE = {"backend": "hardware", "task": "two_link_leg", "fake_robot": "true"}


def test_robot_namespaces_name_each_workers_robot() -> None:
    """robot_namespaces:=dog1,dog2: worker 0's bridge (and fake robot) take the robot under
    /dog1, worker 1's the one under /dog2; the graph's own nodes stay under worker_k."""
    plan = _plan("train.launch.xml", **HARDWARE, workers="2", robot_namespaces="dog1,dog2")
    assert _robot_namespaces(plan) == [
        ("hardware_bridge", "/worker_0", "dog1"), ("fake_ros2_control", "/worker_0", "dog1"),
        ("hardware_bridge", "/worker_1", "dog2"), ("fake_ros2_control", "/worker_1", "dog2"),
    ]  # fmt: skip
    check_plan(plan)
    # spaces around an entry dropped, slashes kept (the bridge strips them); nested names;
    # an empty entry keeps the YAML's topics as written; under a graph namespace as well
    plan = _plan("train.launch.xml", **HARDWARE, workers="3", namespace="lab",
                 robot_namespaces=" dog1 , /fleet/dog2,")  # fmt: skip
    assert [(ns, rns) for name, ns, rns in _robot_namespaces(plan) if name == "hardware_bridge"
            ] == [("/lab/worker_0", "dog1"), ("/lab/worker_1", "/fleet/dog2"),
                  ("/lab/worker_2", "''")]  # fmt: skip
    check_plan(plan)
    one = _plan("train.launch.xml", **HARDWARE, robot_namespaces="dog1")
    assert {rns for _, _, rns in _robot_namespaces(one)} == {"dog1"}
    # a remote worker picks its entry by index as well
    remote = _plan("worker.launch.xml", **HARDWARE, index="1", workers="2",
                   config="/runs/a/config.yaml", robot_namespaces="dog1,dog2")  # fmt: skip
    assert _robot_namespaces(remote)[0] == ("hardware_bridge", "/worker_1", "dog2")


@pytest.mark.parametrize(
    ("workers", "robot_namespaces", "message"),
    [
        (
            "2",
            "dog1",
            "robot_namespaces:=dog1 names 1 robot namespace(s) for workers:=2 (one "
            "per worker, comma-separated)",
        ),
        (
            "2",
            "dog1,dog2,dog3",
            "robot_namespaces:=dog1,dog2,dog3 names 3 robot namespace(s) for workers:=2",
        ),
        (
            "2",
            "dog1,/dog1/",
            "robot_namespaces:=dog1,/dog1/ gives the robot namespace dog1 to "
            "more than one worker (one robot per worker)",
        ),
        ("3", "dog1, dog2 ,dog2", "gives the robot namespace dog2 to more than one worker"),
        ("2", ",", "robot_namespaces:=, gives the robot namespace (empty) to more than one"),
        (
            "2",
            "dog1,dog-2",
            "robot_namespace 'dog-2' is not a ROS namespace (names of letters, "
            "digits and _ joined by /, not starting with a digit)",
        ),
        ("2", "dog1,2dog", "robot_namespace '2dog' is not a ROS namespace"),
    ],
)
def test_a_bad_robot_namespaces_list_is_refused_naming_the_problem(
    workers: str, robot_namespaces: str, message: str
) -> None:
    """The launch file finds a wrong count or a robot twice (its $(eval), which cannot raise
    under ros2 launch, hands the problem to the bridge as its robot_namespace); the bridge's
    parameter validation refuses that and an invalid name: rl-control launch before any
    node starts, the node itself under ros2 launch."""
    plan = _plan("train.launch.xml", **HARDWARE, workers=workers,
                 robot_namespaces=robot_namespaces)  # fmt: skip
    with pytest.raises(ValueError, match="^hardware_bridge: ") as err:
        check_plan(plan)
    assert message in str(err.value)


@pytest.mark.parametrize(
    "args",
    [
        {},
        {"workers": "3", "namespace": "lab", "compose": "true", "lock_step": "false"},
        {**HARDWARE, "workers": "2"},
        {**HARDWARE, "workers": "3", "namespace": "lab", "robot_namespaces": " a , /b/c,"},
        {**HARDWARE, "workers": "2", "robot_namespaces": "dog1"},
        {**HARDWARE, "workers": "2", "robot_namespaces": "dog1,/dog1"},
        {**HARDWARE, "robot_namespaces": "dog1"},
    ],
)
def test_every_eval_is_what_pythons_eval_gives(monkeypatch, args: dict[str, str]) -> None:
    """ros2 launch evaluates $(eval) with Python's eval: each expression the launch files
    reach gives the same text there as in rl-control launch's evaluator (which runs no
    Python), so the XML means the same in both."""
    from rl_control.ros.launch import substitutions

    ours = substitutions.evaluate_expression
    seen: list[str] = []

    def both(text: str) -> str:
        value = ours(text)
        assert value == str(eval(text, {}, dict(vars(math)))), text  # as launch's PythonExpression
        seen.append(text)
        return value

    monkeypatch.setattr(substitutions, "evaluate_expression", both)
    _plan("train.launch.xml", **args)
    assert any(".split(',')" in text for text in seen)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_compose_hosts_each_workers_three_nodes_with_the_same_arguments(workers) -> None:
    """compose:=true: one node_container per worker runs the bridge, the estimator and the
    policy node with exactly the arguments they get as separate processes."""
    separate = {(n.namespace, n.name): n for n in _plan("train.launch.xml", workers=workers).nodes}
    plan = _plan("train.launch.xml", workers=workers, compose="true")
    containers = [n for n in plan.nodes if n.executable == "node_container"]
    assert len(containers) == int(workers)
    assert {n.name for n in plan.nodes} == {"worker_container", "robot_publisher", "trainer_node"}
    for container in containers:
        assert container.respawn and not container.shutdown_on_exit
        args, groups = list(container.args), []
        while args:
            end = args.index("--")
            groups.append((args[0], args[1 : end + 1]))
            args = args[end + 1 :]
        assert [plugin for plugin, _ in groups] == ["sim_bridge", "state_estimator", "policy_node"]
        for plugin, ros_args in groups:
            ns = ros_args[ros_args.index("-r") + 3].split(":=")[1]  # -r __node:=.. -r __ns:=..
            alone = separate[(ns, plugin)]
            assert ros_args == [*alone.ros_args(), "--"], plugin


def test_a_worker_started_alone_needs_the_trainers_config() -> None:
    """A remote worker builds its world from the run's config, which only the run knows."""
    with pytest.raises(LaunchError, match="missing launch argument 'config'"):
        _plan("worker.launch.xml", index="1", workers="2")
    plan = _plan("worker.launch.xml", index="1", workers="2", config="/runs/a/config.yaml")
    bridge, estimator = plan.nodes[0], plan.nodes[1]
    assert (bridge.name, estimator.name) == ("sim_bridge", "state_estimator")
    assert _params(bridge)["config"] == _params(estimator)["config"] == "/runs/a/config.yaml"
