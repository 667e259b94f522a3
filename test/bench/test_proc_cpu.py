"""proc_cpu: CPU seconds of process trees, by graph role."""

import os
import subprocess
import sys
import time

import proc_cpu


def test_roles_follow_the_node_named_on_the_command_line() -> None:
    role = proc_cpu.role_of
    assert role("/venv/bin/python3 /venv/bin/trainer_node --ros-args -r __ns:=/a") == "trainer"
    assert role("/venv/bin/python3 /venv/bin/node_container sim_bridge --ros-args") == "workers"
    assert role("/venv/bin/python3 /venv/bin/state_estimator --ros-args") == "workers"
    assert role("/venv/bin/python3 /venv/bin/robot_publisher --ros-args") == "other"
    # a later argument naming a node (a launch's own command line) does not count
    assert role("python -m rl_control.cli.main launch x.xml trainer_node") == "other"


def test_a_childs_cpu_counts_under_its_role() -> None:
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\n"
    child = subprocess.Popen([sys.executable, "-c", burn + "time.sleep(30)"])
    try:
        deadline = time.monotonic() + 20
        own = proc_cpu.cpu_s(os.getpid())
        while proc_cpu.tree_cpu_by_role(os.getpid())["other"] - own < 0.25:
            assert time.monotonic() < deadline, "the child's CPU never showed"
            time.sleep(0.1)
            own = proc_cpu.cpu_s(os.getpid())
        by_role = proc_cpu.tree_cpu_by_role(os.getpid())
        assert by_role["trainer"] == by_role["workers"] == 0.0
        assert proc_cpu.tree_cpu_s(os.getpid()) >= sum(by_role.values())  # the test ran on
    finally:
        child.kill()
        child.wait()
