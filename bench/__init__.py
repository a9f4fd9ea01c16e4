"""Benchmarks: `python -m bench` prints Rollcall's speed as ratios to a baseline run alongside."""
