"""The benchmark: the connector against the local Egnyte sandbox, under stated tenants, latencies and limits.

Every scenario runs in its own child process against its own sandbox process, so that each one's wall time,
CPU and peak memory are its own. See bench/README.md for the method and the latest results.
"""
