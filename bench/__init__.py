"""Benchmarks: `python -m bench` (see README). Ratios against baselines measured in the
same run; goals are checked here, never by timed assertions in the tests."""
