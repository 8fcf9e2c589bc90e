"""Benchmarks: our generator side by side with Hugo and Pelican on a synthetic corpus.

Run with `make bench` or `.venv/bin/python -m bench.run`; see bench/README.md.
"""
