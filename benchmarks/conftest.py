"""Benchmarks run only through ``make bench`` (pytest-benchmark), never as timed unit tests."""
