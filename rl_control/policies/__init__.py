"""rl_control.policies"""
