"""`brownout proxy` as a command: config files, bad input (exit 2 and a message naming it), signals."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from tests.helpers import BROWNOUT, wait_listening
from tests.proxy.proxy_support import ROOT, Api, Spawner, free_port, stop_process


def _run_proxy_expecting_exit(*args: str) -> subprocess.CompletedProcess[str]:
    argv = [*BROWNOUT, "proxy", "--port", str(free_port()), *args]
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=30)


def test_config_file_proxies_are_created_and_serve(spawner: Spawner, tmp_path: Path) -> None:
    echo_port = spawner.echo_backend()
    listen_port = free_port()
    config = tmp_path / "toxiproxy.json"
    config.write_text(
        json.dumps(
            [
                {"name": "up", "listen": f"127.0.0.1:{listen_port}", "upstream": f"127.0.0.1:{echo_port}"},
                {"name": "off", "upstream": f"127.0.0.1:{echo_port}", "enabled": False},
            ]
        )
    )
    server = spawner.proxy("--config", str(config))
    proxies = Api(server.url).call("GET", "/proxies").json()
    assert {name: p["enabled"] for name, p in proxies.items()} == {"up": True, "off": False}
    assert proxies["up"]["listen"] == f"127.0.0.1:{listen_port}"
    with socket.create_connection(("127.0.0.1", listen_port), timeout=5) as sock:
        sock.sendall(b"via config")
        assert sock.recv(64) == b"via config"


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("[{", ["not valid JSON"]),
        ('{"name": "x"}', ["JSON list"]),
        ('[{"name": "x", "listen": "127.0.0.1:0"}]', ["entry 0", "'x'", "upstream"]),
        (
            '[{"name": "a", "upstream": "h:1"}, {"name": "b", "listen": "127.0.0.1:x", "upstream": "h:1"}]',
            ["entry 1", "'b'", "port"],
        ),
        (
            '[{"name": "a", "upstream": "127.0.0.1:1"}, {"name": "a", "upstream": "127.0.0.1:2"}]',
            ["entry 1", "already defined"],
        ),
        ('["just a string"]', ["entry 0", "JSON object"]),
    ],
)
def test_bad_config_exits_2_naming_file_and_entry(tmp_path: Path, content: str, words: list[str]) -> None:
    config = tmp_path / "bad.json"
    config.write_text(content)
    result = _run_proxy_expecting_exit("--config", str(config))
    assert result.returncode == 2, result
    assert str(config) in result.stderr
    for word in words:
        assert word in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_config_file_exits_2(tmp_path: Path) -> None:
    result = _run_proxy_expecting_exit("--config", str(tmp_path / "absent.json"))
    assert result.returncode == 2
    assert "absent.json" in result.stderr and "Traceback" not in result.stderr


def test_non_loopback_host_exits_2() -> None:
    result = _run_proxy_expecting_exit("--host", "0.0.0.0")
    assert result.returncode == 2
    assert "loopback" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_it_promptly_with_exit_0(spawner: Spawner, signum: int) -> None:
    echo_port = spawner.echo_backend()
    server = spawner.proxy()
    listen_port = Api(server.url).create_proxy("svc", echo_port)
    with socket.create_connection(("127.0.0.1", listen_port), timeout=5) as open_connection:
        open_connection.sendall(b"x")
        assert open_connection.recv(1) == b"x"
        server.process.send_signal(signum)
        try:
            assert server.process.wait(timeout=5) == 0
        finally:
            stop_process(server.process)
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", listen_port), timeout=2).close()


def test_toxiproxy_server_command_line_works_unchanged(spawner: Spawner, tmp_path: Path) -> None:
    echo_port = spawner.echo_backend()
    config = tmp_path / "toxiproxy.json"
    config.write_text(json.dumps([{"name": "redis", "listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{echo_port}"}]))
    port = free_port()
    argv = ["-port", str(port), "-host=127.0.0.1", "-config", str(config), "-seed", "7", "-proxy-metrics"]
    process = spawner.popen([*BROWNOUT, "proxy", *argv])
    wait_listening(port, process)
    assert list(Api(f"http://127.0.0.1:{port}").call("GET", "/proxies").json()) == ["redis"]


def test_version_flag_prints_the_toxiproxy_version_it_mirrors() -> None:
    result = subprocess.run([*BROWNOUT, "proxy", "-version"], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    assert result.stdout.startswith("brownout proxy 2.8.0+brownout.")
