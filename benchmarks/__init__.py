"""Benchmarks: `python -m benchmarks.latency|memory|train_speed|int8`, each printing a Markdown table."""
