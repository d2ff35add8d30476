"""Benchmarks at scale (`make bench`): a synthetic workload (workload.py) and the measurements
(run.py), side by side with Label Studio's own tools and with the floor."""
