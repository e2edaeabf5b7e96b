"""brownout's fault proxy: a Toxiproxy-compatible TCP proxy on gevent.

Run it with `brownout proxy --port P [--config FILE] [--token T] [--lenient]`. It serves Toxiproxy 2.8.0's
HTTP API with its JSON shapes and status codes, so a client written for Toxiproxy drives it unchanged (the
remaining differences are one table in the README):

- `GET /proxies` (a map of name -> proxy), `POST /proxies` (201), `POST /populate` (create or replace a list),
  `GET|POST|PATCH|DELETE /proxies/{name}` (`"enabled": false` takes the proxy down: new connections are
  refused and open ones are dropped), `GET|POST /proxies/{name}/toxics`,
  `GET|POST|PATCH|DELETE /proxies/{name}/toxics/{toxic}`, `POST /reset` (204: enable all, remove all
  toxics), `GET /version`, `GET /healthz` (not in Toxiproxy; a readiness probe for the supervisor),
  `GET /proxies/{name}/traffic` (not in Toxiproxy: connections and bytes carried, idle time; the network
  faults' evidence) and, with `-proxy-metrics`, Toxiproxy's `/metrics` byte counters.
- proxy: `{"name", "listen", "upstream", "enabled", "toxics"}`, addresses kept as written; a proxy listens
  on any address its client names. Toxic: `{"name", "type", "stream", "toxicity", "attributes"}`, listed
  upstream first. Toxic types: latency (latency, jitter ms), bandwidth (rate KB/s), slow_close (delay ms),
  timeout (timeout ms), reset_peer (timeout ms), slicer (average_size, size_variation bytes, delay us),
  limit_data (bytes), noop.
- errors: `{"error": "<reason>", "status": <code>}`, 4xx for every client mistake. Stricter than Toxiproxy
  unless `--lenient`: unknown attribute names, negative values, toxicity outside 0..1 and a changed type or
  stream in an update are refused (400, saying Toxiproxy would have ignored them); a listen address that
  is busy is a 409.

Token (a deliberate deviation from Toxiproxy, which has no auth): brownout's standards require a token on
admin endpoints, Toxiproxy clients send none. Both are served: with `--token` or the env var
`BROWNOUT_TOKEN` set, every endpoint except `/healthz` needs `Authorization: Bearer <token>` (missing: 401,
wrong: 403); with neither set, the API is open like Toxiproxy's. Either way the API listens on loopback
only, requests from a non-loopback peer get 403, and (like Toxiproxy) requests whose
User-Agent is a browser's are refused, so a web page cannot drive the API.

JSON is read and written as Toxiproxy's Go server does (module `jsonio`): keys in any letter case, `null`
as a left-out field, anything after the first JSON value ignored; answers compact, in Toxiproxy's key order,
with `<>&` escaped. tests/proxy/test_against_toxiproxy.py checks all of this against the real server.

Modules: `toxics` (toxic specs and their validation), `config` (proxy specs from API bodies and config
files), `jsonio` (JSON as Toxiproxy reads and writes it), `chain` (one connection's walk through its toxics),
`link` (a connection's sockets, both directions), `traffic` (what a proxy carried), `listener` (accepting
and connecting upstream), `proxies` (a proxy's state and the registry), `api` (the HTTP API), `cli` (the
command).
"""
