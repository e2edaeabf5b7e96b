"""What bench_plugin.py runs in other processes: the tiny app, the two locustfiles and the scenario."""
