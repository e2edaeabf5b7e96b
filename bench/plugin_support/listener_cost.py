"""The plugin's cost per request inside a Locust process, measured directly: `request` events fired in a loop.

Two environments, each with a local runner (whose stats listener every Locust run has): a bare one, and one
on `locust.events` where `brownout.plugin.hooks` is registered and its `init` has run (the plugin's session
open against `--host`, as in a real run). Every event carries a real FastHttpUser response from the tiny
app, so the plugin's degraded-header lookup is the real one. Blocks of events alternate between the two.

Run: `python -m bench.plugin_support.listener_cost --host URL --scenario FILE --out DIR`; prints JSON
`{"bare_us": ..., "plugin_us": ..., "events": n}` (µs per fired event, medians over the blocks).
"""

import argparse
import json
import statistics
import time
from typing import Any

import locust  # gevent-patches the process, as in every Locust run (nothing above needs patching)
from locust.contrib.fasthttp import FastHttpSession
from locust.env import Environment
from locust.event import Events

import brownout.plugin.hooks  # noqa: F401  (registers the plugin on locust.events)

_BLOCKS = 7
_BLOCK_EVENTS = 30_000


def _environment(events: Events, host: str, options: argparse.Namespace) -> Environment:
    environment = Environment(user_classes=[], events=events, host=host, parsed_options=options)
    runner = environment.create_local_runner()
    environment.events.init.fire(environment=environment, runner=runner, web_ui=None)
    return environment


def _per_event_us(environment: Environment, response: Any) -> float:
    fire = environment.events.request.fire
    started = time.perf_counter()
    for i in range(_BLOCK_EVENTS):
        fire(
            request_type="GET", name="/", response_time=2.0 + (i % 50) * 0.1, response_length=61,
            response=response, context={}, exception=None, start_time=started, url="/",
        )  # fmt: skip
    return (time.perf_counter() - started) / _BLOCK_EVENTS * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", required=True)
    parser.add_argument("--scenario", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    options = argparse.Namespace(
        brownout_scenario=args.scenario, brownout_out=args.out, brownout_bucket=0.25, brownout_progress=0,
        brownout_no_faults=True,
    )  # fmt: skip
    bare = _environment(Events(), args.host, options)
    plugged = _environment(locust.events, args.host, options)
    response = FastHttpSession(args.host, bare.events.request, user=None).get("/")
    bare_us, plugin_us = [], []
    for _ in range(_BLOCKS):
        bare_us.append(_per_event_us(bare, response))
        plugin_us.append(_per_event_us(plugged, response))
    plugged.events.quit.fire(exit_code=0)
    figures = {"bare_us": statistics.median(bare_us), "plugin_us": statistics.median(plugin_us)}
    print(json.dumps({**figures, "events": _BLOCKS * _BLOCK_EVENTS}))


if __name__ == "__main__":
    main()
