"""Kinto 26.5.0, a service nobody here wrote: its scenario, its locustfile, and the same-build bench
(python -m bench.kinto)."""
