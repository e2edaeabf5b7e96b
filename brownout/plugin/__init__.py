"""brownout's Locust plugin. A locustfile imports `brownout.plugin.hooks` (which registers the hooks on
`locust.events`); the other modules here are plain bookkeeping that import without Locust, because
importing Locust gevent-patches the whole process.
"""
