"""Local servers that answer like payment providers' documented APIs (tests and benchmarks)."""
