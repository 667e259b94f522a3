"""rl_control.tasks"""
