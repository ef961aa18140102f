"""Benchmarks: the tap against a raw loop, on the local simulator."""
