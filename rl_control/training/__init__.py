"""rl_control.training"""
