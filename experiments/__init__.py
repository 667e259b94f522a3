"""Experiment scripts (run from the repository root); shared helpers live in fair.py."""
