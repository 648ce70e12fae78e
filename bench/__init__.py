"""Benchmarks (not tests): each prints its figures as ratios to a baseline in the same run."""
