"""rl_control.robot: the robot-I/O port a bridge drives, and its PyBullet implementation."""
