"""rl_control.models"""
