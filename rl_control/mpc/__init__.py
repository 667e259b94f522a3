"""rl_control.mpc"""
