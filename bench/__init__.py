"""Benchmarks (`make bench`): each `bench/bench_*.py` has `main()` printing its figures."""
