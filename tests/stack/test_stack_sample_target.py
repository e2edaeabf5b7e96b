"""The real sample stack from targets/sample/stack.toml: every component comes up, wired through the proxy."""

from __future__ import annotations

from pathlib import Path

from brownout.stack import Stack
from tests.stack.stack_helpers import assert_all_gone, session

SAMPLE = Path(__file__).resolve().parents[2] / "targets" / "sample" / "stack.toml"


def test_the_sample_stack_comes_up_ready_and_routes_through_the_fault_proxy(tmp_path: Path) -> None:
    stack = Stack.start(SAMPLE, tmp_path / "run", ephemeral_ports=True)
    try:
        statuses = stack.status()
        assert [(s.name, s.state, s.ready) for s in statuses] == [
            ("upstream", "running", True),
            ("notifier", "running", True),
            ("faultproxy", "running", True),
            ("gateway", "running", True),
        ]
        http = session()
        proxies = http.get(
            stack.url("faultproxy") + "/proxies",
            headers={"Authorization": f"Bearer {stack.token}"},
            timeout=5,
        ).json()
        assert {name: p["upstream"] for name, p in proxies.items()} == {
            "upstream": f"127.0.0.1:{stack.ports['upstream']}",
            "notifier": f"127.0.0.1:{stack.ports['notifier']}",
        }
        thread = http.post(stack.url("gateway") + "/threads", json={}, timeout=10).json()["thread_id"]
        reply = http.post(
            stack.url("gateway") + f"/threads/{thread}/messages", json={"text": "hi"}, timeout=10
        )
        assert reply.status_code == 201 and reply.json()["degraded"] is False
        pids = [s.pid for s in statuses if s.pid is not None]
    finally:
        stack.stop()
    assert_all_gone(pids, [*stack.ports.values(), *stack.proxy_ports.values()])
