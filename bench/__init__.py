"""Benchmarks: the bot's hot paths against raw baselines, measured in the same run.

Run ``python -m bench`` (writes docs/benchmarks.md) or ``python -m bench --quick``.
"""
