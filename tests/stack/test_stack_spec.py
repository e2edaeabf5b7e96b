"""stack.toml validation: every mistake names the file, the component and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from brownout.errors import InputError
from brownout.stack import load_stack_spec
from brownout.stack.layout import PortPolicy, launch_for, plan_layout, proxy_config
from tests.stack.stack_helpers import fake, write_stack

SAMPLE = Path(__file__).resolve().parents[2] / "targets" / "sample" / "stack.toml"


def _error(path: Path) -> str:
    with pytest.raises(InputError) as caught:
        load_stack_spec(path)
    return str(caught.value)


def test_a_valid_file_loads_into_frozen_dataclasses(tmp_path: Path) -> None:
    path = write_stack(
        tmp_path / "stack.toml",
        [fake("up", port=9001, restart="on-failure"), fake("faultproxy", port=9002, critical=False)],
        [{"name": "up", "listen": 9003, "upstream": "up"}],
        control_port=9000,
    )
    spec = load_stack_spec(path)
    assert spec.names == ("up", "faultproxy")
    assert spec.component("up").restart == "on-failure" and spec.component("up").port == 9001
    assert spec.component("faultproxy").critical is False
    assert spec.proxies[0].upstream == "up" and spec.control_port == 9000
    with pytest.raises(AttributeError):
        spec.component("up").port = 1  # type: ignore[misc]


def test_placeholders_are_rendered_with_the_chosen_ports(tmp_path: Path) -> None:
    path = write_stack(
        tmp_path / "stack.toml",
        [
            fake("up"),
            fake("faultproxy", "--proxy-config", "{proxy_config}"),
            fake(
                "gw", "--to", "{proxies.up}", "{ports.up}", "{data_dir}", "{{literal}}", env={"X": "{token}"}
            ),
        ],
        [{"name": "up", "listen": 1, "upstream": "up"}],
    )
    spec = load_stack_spec(path)
    layout = plan_layout(spec, tmp_path / "run", ports=PortPolicy("ephemeral"), token="tok")
    launch = launch_for(spec, spec.component("gw"), layout)
    proxy_port, up_port = layout.proxy_ports["up"], layout.ports["up"]
    assert launch.argv[launch.argv.index("--to") + 1 :] == (
        str(proxy_port),
        str(up_port),
        str((tmp_path / "run" / "data" / "gw").resolve()),
        "{literal}",
    )
    assert launch.env["X"] == "tok" and launch.env["BROWNOUT_TOKEN"] == "tok"
    assert launch.ready_url == f"http://127.0.0.1:{layout.ports['gw']}/readyz"
    assert len(set(layout.ports.values()) | set(layout.proxy_ports.values())) == 4
    assert proxy_config(spec, layout) == [
        {
            "name": "up",
            "listen": f"127.0.0.1:{proxy_port}",
            "upstream": f"127.0.0.1:{up_port}",
            "enabled": True,
        }
    ]


@pytest.mark.parametrize(
    ("component", "field", "says"),
    [
        (fake("a", restart="always"), "restart", "on-failure"),
        (fake("a", command=[]), "command", "non-empty list"),
        (fake("a", command="python x.py"), "command", "never a shell string"),
        (fake("a", port=70000), "port", "1-65535"),
        (fake("a", comand=["x"]), "comand", "unknown field"),
        (fake("a", critical="yes"), "critical", "true or false"),
        (fake("a", ready="readyz"), "ready", "URL path"),
        (fake("a", "{nope}"), "command", "unknown placeholder {nope}"),
        (fake("a", env={"K": "{ports.zzz}"}), "env", "unknown placeholder {ports.zzz}"),
        (fake("a", ready_timeout_s=0), "ready_timeout_s", "greater than 0"),
    ],
)
def test_a_bad_component_field_is_named_with_file_and_component(
    tmp_path: Path, component: dict[str, object], field: str, says: str
) -> None:
    path = write_stack(tmp_path / "stack.toml", [component])
    message = _error(path)
    assert str(path) in message and "component 'a'" in message and f"field {field!r}" in message
    assert says in message


def test_a_component_without_a_port_is_refused(tmp_path: Path) -> None:
    entry = fake("a")
    del entry["port"]
    message = _error(write_stack(tmp_path / "stack.toml", [entry]))
    assert "component 'a'" in message and "field 'port'" in message and "required" in message


def test_duplicate_names_and_ports_are_refused(tmp_path: Path) -> None:
    message = _error(write_stack(tmp_path / "s.toml", [fake("a", port=9001), fake("a", port=9002)]))
    assert "component 'a'" in message and "two components are named 'a'" in message
    message = _error(write_stack(tmp_path / "s.toml", [fake("a", port=9001), fake("b", port=9001)]))
    assert "component 'b'" in message and "field 'port'" in message and "component 'a'" in message


def test_proxies_must_point_at_a_component_and_have_a_server(tmp_path: Path) -> None:
    message = _error(
        write_stack(
            tmp_path / "s.toml", [fake("faultproxy")], [{"name": "p", "listen": 9, "upstream": "ghost"}]
        )
    )
    assert "proxy 'p'" in message and "field 'upstream'" in message and "ghost" in message
    message = _error(
        write_stack(tmp_path / "s.toml", [fake("a")], [{"name": "p", "listen": 9, "upstream": "a"}])
    )
    assert "[stack]" in message and "field 'proxy_component'" in message and "faultproxy" in message


def test_an_empty_program_is_refused_but_an_empty_argument_is_not(tmp_path: Path) -> None:
    empty_program = {**fake("a"), "command": ["", "--port", "{port}"]}
    message = _error(write_stack(tmp_path / "s.toml", [empty_program]))
    assert "component 'a'" in message and "field 'command'" in message and "program" in message
    empty_check = fake("a", ready=["", "ping"])
    message = _error(write_stack(tmp_path / "s.toml", [empty_check]))
    assert "component 'a'" in message and "field 'ready'" in message and "program" in message
    spec = load_stack_spec(write_stack(tmp_path / "s.toml", [fake("a", "--to", "", ready=["true", ""])]))
    assert spec.component("a").command[-2:] == ("--to", "") and spec.component("a").ready == ("true", "")


def test_broken_toml_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "stack.toml"
    path.write_text('[stack]\nstop_grace_s = 3\n\n[[components]]\nname = "a\n')
    message = _error(path)
    assert str(path) in message and "not valid TOML" in message and "line 5" in message


def test_a_missing_file_or_no_components_is_refused(tmp_path: Path) -> None:
    assert "no such stack file" in _error(tmp_path / "absent.toml")
    (tmp_path / "empty.toml").write_text("[stack]\n")
    assert "needs at least one [[components]]" in _error(tmp_path / "empty.toml")


def test_the_sample_stack_file_is_valid() -> None:
    spec = load_stack_spec(SAMPLE)
    assert {"upstream", "notifier", "faultproxy", "gateway"} <= set(spec.names)
    assert {p.upstream for p in spec.proxies} == {"upstream", "notifier"}
