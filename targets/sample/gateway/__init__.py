"""The gateway: the sample target's critical service (HTTP JSON API + WebSocket streams over SQLite).

Run: `python -m targets.sample.gateway --port P --data-dir D --upstream-url URL --notifier-url URL`.
Nothing is imported here, so `python -m` can patch gevent before anything loads sockets or threads.
"""
