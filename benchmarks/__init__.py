"""Benchmarks (`make bench`): in-process figures first, then the PC/SC and suite figures."""
