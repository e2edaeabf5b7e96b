"""Which proxied links a partition cuts, read from the stack spec.

An edge is a [[proxies]] entry whose `upstream` is one component (the server) and whose port another
component is given through `{proxies.<name>}` in its command or env (the client). A link a component
reaches by `{ports.<name>}` or a hard-coded port bypasses the proxy, so no partition can cut it: such a
partition is refused before anything starts, saying which proxy to add.
"""

from __future__ import annotations

from brownout.errors import InputError
from brownout.faults.kinds import Edge, PartitionParams
from brownout.stack.spec import StackSpec, placeholders_in


def stack_edges(spec: StackSpec) -> tuple[Edge, ...]:
    """Every proxied edge of the stack, in component then placeholder order, each once."""
    upstream_of = {proxy.name: proxy.upstream for proxy in spec.proxies}
    edges: list[Edge] = []
    for component in spec.components:
        for text in (*component.command, *(value for _, value in component.env)):
            for placeholder in placeholders_in(text):
                proxy = placeholder.removeprefix("proxies.")
                if proxy != placeholder and proxy in upstream_of:
                    edge = Edge(proxy=proxy, client=component.name, server=upstream_of[proxy])
                    if edge not in edges:
                        edges.append(edge)
    return tuple(edges)


def partition_edges(params: PartitionParams, spec: StackSpec) -> tuple[Edge, ...]:
    """The edges `params` cuts; InputError (a sentence without the file) when a name or an edge is missing."""
    named = (params.isolate,) if params.isolate else params.between
    field = "isolate" if params.isolate else "between"
    for name in named:
        if name == spec.proxy_component:
            raise InputError(f"field {field!r}: {name!r} is the fault proxy itself: name the components it carries")
        if name not in spec.names:
            known = [n for n in spec.names if n != spec.proxy_component]
            raise InputError(f"field {field!r}: the stack has no component {name!r} (it has: {', '.join(known)})")
    edges = tuple(edge for edge in stack_edges(spec) if set(named) <= {edge.client, edge.server})
    if edges:
        return edges
    raise InputError(f"field {field!r}: {_missing_edge(named, spec)}")


def _missing_edge(named: tuple[str, ...], spec: StackSpec) -> str:
    """Why nothing can be cut, and how to route the link through the fault proxy."""
    if len(named) == 1:
        return (
            f"component {named[0]!r} has no proxied edge in {spec.source}: no [[proxies]] entry leads to it, and "
            f"its command and env name no {{proxies.<name>}}; route its links through the fault proxy: add "
            f'[[proxies]] with upstream = "{named[0]}" and give its clients {{proxies.<that name>}} instead of '
            f"{{ports.{named[0]}}}"
        )
    a, b = named
    return (
        f"no proxied edge between {a!r} and {b!r} in {spec.source}: neither reaches the other through a "
        f"[[proxies]] entry; if {a!r} talks to {b!r}, add [[proxies]] with upstream = \"{b}\" and give {a!r} "
        f"{{proxies.<that name>}} in its command or env instead of {{ports.{b}}} (or the other way round)"
    )


def edges_in_words(edges: tuple[Edge, ...]) -> str:
    return ", ".join(f"{edge.client}->{edge.server} (proxy {edge.proxy})" for edge in edges)
