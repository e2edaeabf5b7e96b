"""brownout's fault proxy: a Toxiproxy-compatible TCP proxy on gevent.

Run it with `brownout proxy --port P [--config FILE] [--token T]`. It serves the subset of Toxiproxy's HTTP
API that fault schedules need, with Toxiproxy's JSON shapes and status codes, so one client drives either
this proxy or a real Toxiproxy server:

- `GET /proxies` (a map of name -> proxy), `POST /proxies` (201), `POST /populate` (create or replace a list),
  `GET|POST|PATCH|DELETE /proxies/{name}` (`"enabled": false` takes the proxy down: new connections are
  refused and open ones are dropped), `GET|POST /proxies/{name}/toxics`,
  `GET|POST|PATCH|DELETE /proxies/{name}/toxics/{toxic}`, `POST /reset` (204: enable all, remove all
  toxics), `GET /version`, and `GET /healthz` (not in Toxiproxy; a readiness probe for the supervisor).
- proxy: `{"name", "listen", "upstream", "enabled", "toxics"}`; toxic: `{"name", "type", "stream",
  "toxicity", "attributes"}`. Toxic types: latency (latency, jitter ms), timeout (timeout ms), reset_peer
  (timeout ms), bandwidth (rate KB/s), slow_close (delay ms), limit_data (bytes).
- errors: `{"error": "<reason>", "status": <code>}`, 4xx for every client mistake. Stricter than Toxiproxy:
  unknown attribute names, negative values and toxicity outside 0..1 are refused (400), not ignored; a
  listen address that is busy is a 409.

Token (a deliberate deviation from Toxiproxy, which has no auth): brownout's standards require a token on
admin endpoints, Toxiproxy clients send none. Both are served: with `--token` or the env var
`BROWNOUT_TOKEN` set, every endpoint except `/healthz` needs `Authorization: Bearer <token>` (missing: 401,
wrong: 403); with neither set, the API is open like Toxiproxy's. Either way the API and every proxy listen
on loopback only, requests from a non-loopback peer get 403, and (like Toxiproxy) requests whose
User-Agent is a browser's are refused, so a web page cannot drive the API.

Modules: `toxics` (toxic specs and their validation), `config` (proxy specs from API bodies and config
files), `link` (piping one connection through the toxics), `proxies` (listeners and the registry), `api`
(the HTTP API), `cli` (the command).
"""
