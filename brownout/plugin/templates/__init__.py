"""Server-rendered HTML of brownout's pages in Locust's web UI (kept as Python strings so they install
with the package)."""
