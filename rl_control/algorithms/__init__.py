"""rl_control.algorithms"""
