"""Shared test set-up: one torch thread per test process (CI has 2 cores), headless PyBullet."""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

try:
    import torch

    torch.set_num_threads(1)
except ImportError:  # the ROS-free import test runs without torch too
    pass
