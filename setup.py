"""Install rl_control: `pip install -e .` (no ROS) or `colcon build` (ROS 2, ament_python)."""

from glob import glob

from setuptools import find_namespace_packages, setup

PACKAGE = "rl_control"
NODES = ["sim_bridge", "state_estimator", "policy_node", "trainer_node", "hardware_bridge",
         "fake_ros2_control", "robot_publisher", "bag_recorder", "node_container"]  # fmt: skip

setup(
    name=PACKAGE,
    version="0.1.0",
    description="ROS 2 control stack for learned robot policies (PPO, TRPO, SAC, PPO-MPC)",
    # namespace discovery also lists the .msg-only folders under ros/middleware/interfaces,
    # which setuptools otherwise warns about as unlisted data packages
    packages=find_namespace_packages(include=[PACKAGE, f"{PACKAGE}.*"]),
    python_requires=">=3.10",
    install_requires=[
        "numpy>=1.23",
        "torch>=2.1",
        "gymnasium>=0.29",
        "pybullet>=3.2.5",
        "casadi>=3.6",
        "scipy>=1.10",
        "cyclonedds>=0.10.5",
        "transforms3d>=0.4",
        "pyyaml>=6.0",
        "matplotlib>=3.6",
        "tqdm>=4.60",
        "tensorboard>=2.12",
        "onnx>=1.15",  # rl-control export --format onnx
        "onnxruntime>=1.17",
        "mcap-ros2-support>=0.5",  # rl-control record/replay: MCAP bags with ROS 2 CDR
        "optuna>=4.0",  # rl-control tune: the search and its SQLite study (5.1 tested)
    ],
    extras_require={
        # MuJoCo's gymnasium tasks (HalfCheetah-v5, Hopper-v5) for `--task <gym id>`; 4.x on
        # PyPI is not a MuJoCo build, so stay on 3.x
        "mujoco": ["mujoco>=3.1,<4", "imageio>=2.14"],
        # rosbags: an independent ROS 2 bag reader that checks the bags rl-control writes
        # `rl-control monitor`'s browser page: viser, which draws URDFs through yourdfpy
        "monitor": ["viser>=1.0", "yourdfpy>=0.0.56"],
        # the monitor's page test needs viser (it skips without it, or without Chromium)
        "test": [
            "pytest>=7",
            "ruff>=0.4",
            "mujoco>=3.1,<4",
            "imageio>=2.14",
            "rosbags>=0.10",
            "viser>=1.0",
            "yourdfpy>=0.0.56",
        ],
        "bench": ["stable-baselines3>=2.3", "sb3-contrib>=2.3"],
    },
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.xml")),
        (f"share/{PACKAGE}/config", glob("config/*.yaml")),
        (f"share/{PACKAGE}/config/rviz", glob("config/rviz/*.rviz")),
        (f"share/{PACKAGE}/config/rqt", glob("config/rqt/*.perspective")),
        (f"share/{PACKAGE}/config/train", glob("config/train/*.yaml")),
        (f"share/{PACKAGE}/config/robots", glob("config/robots/*.yaml")),
        (f"share/{PACKAGE}/msg", glob("msg/*.msg")),
    ],
    package_data={
        PACKAGE: ["ros/middleware/interfaces/**/*.msg", "ros/middleware/interfaces/**/*.srv"]
    },
    include_package_data=True,
    zip_safe=False,
    entry_points={
        "console_scripts": [f"rl-control = {PACKAGE}.cli.main:main"]
        + [f"{node} = {PACKAGE}.ros.nodes.{node}:main" for node in NODES],
    },
)
