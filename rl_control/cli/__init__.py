"""rl_control.cli"""
