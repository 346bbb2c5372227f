"""Benchmarks (`make bench`): preprocessing, training, serving and end-to-end throughput."""
