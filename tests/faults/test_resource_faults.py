"""`resource` faults against the real sample stack: CPU hogs beside the component, memory held, a disk filled
(only a small filesystem: a tmpfs when the tests run as root), the clock offset read back from the gateway's
`Date` header; each healed, each refused with its reason where this machine cannot do it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import requests

from brownout.checks.evidence import describe_evidence
from brownout.errors import FaultError, InputError
from brownout.faults.drivers import build_driver
from brownout.faults.drivers import resource as resource_module
from brownout.faults.drivers.resource import ResourceDriver, ResourceTarget
from brownout.faults.endpoints import Endpoints, endpoints_from_description
from brownout.faults.kinds import ResourceParams, read_params
from brownout.faults.preflight import preflight
from brownout.inputs import TomlTable
from brownout.scenario.schema import FaultSpec, parse_scenario
from brownout.scenario.shipped import SAMPLE_STACK
from brownout.stack import Stack
from tests.helpers import wait_until


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack.start(SAMPLE_STACK, tmp_path_factory.mktemp("stack"), ephemeral_ports=True) as running:
        yield running


@pytest.fixture(scope="module")
def endpoints(stack: Stack) -> Endpoints:
    return endpoints_from_description(stack.describe(), "the test's stack")


def _driver(endpoints: Endpoints, params: ResourceParams, duration_s: float = 30.0) -> ResourceDriver:
    spec = FaultSpec(index=0, name="starve", target="gateway", kind="resource", params=params,
                     duration_s=duration_s, at_s=0.0)  # fmt: skip
    driver = build_driver(spec, endpoints)
    assert isinstance(driver, ResourceDriver)
    return driver


def _read(fields: dict[str, object]) -> ResourceParams:
    table = TomlTable({"kind": "resource", "target": "gateway", **fields}, file="s.toml", where='faults[0] "x"')
    params = read_params("resource", table, "gateway")
    assert isinstance(params, ResourceParams)
    return params


def test_the_scenario_syntax_of_each_resource() -> None:
    assert _read({"resource": "cpu", "cpus": 3}).cpus == 3
    assert _read({"resource": "memory", "limit_mb": 64}).limit_mb == 64
    assert _read({"resource": "disk", "mode": "full"}).limit_mb == 256
    assert _read({"resource": "clock", "offset": "-2m"}).offset_s == -120.0
    assert _read({"resource": "clock", "offset": "30s"}).offset_s == 30.0


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"resource": "cpu", "limit_mb": 5}, "field 'limit_mb': does not apply to resource 'cpu'"),
        ({"resource": "memory"}, "field 'limit_mb'"),
        ({"resource": "disk", "mode": "sideways"}, "field 'mode'"),
        ({"resource": "clock", "offset": "0s"}, "an offset of 0 changes nothing"),
        ({"resource": "gpu"}, "field 'resource'"),
    ],
)
def test_a_wrong_resource_fault_names_its_field(fields: dict[str, object], said: str) -> None:
    with pytest.raises(InputError, match=said):
        _read(fields)


def test_cpu_hogs_run_beside_the_component_at_normal_priority_and_die_with_the_heal(endpoints: Endpoints) -> None:
    driver = _driver(endpoints, ResourceParams("gateway", "cpu", cpus=2))
    evidence = driver.inject()
    try:
        hogs = [psutil.Process(pid) for pid in evidence["hog_pids"]]
        component_cpus = os.sched_getaffinity(evidence["pid"])
        assert all(set(hog.cpu_affinity()) <= component_cpus for hog in hogs)
        assert all(hog.nice() == psutil.Process().nice() for hog in hogs)  # a nicer hog would starve nothing
        # it burns CPU: cumulative CPU time, not a share, which a busy machine may hold down for a while
        assert wait_until(lambda: all(sum(hog.cpu_times()[:2]) > 0.3 for hog in hogs), 30)
    finally:
        healed = driver.heal()
    assert healed["hogs_stopped"] == 2
    assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie" for pid in evidence["hog_pids"])


def test_a_hog_stops_by_itself_after_the_faults_duration(endpoints: Endpoints) -> None:
    driver = _driver(endpoints, ResourceParams("gateway", "cpu", cpus=1), duration_s=0.5)
    evidence = driver.inject()
    try:
        assert evidence["hog_seconds"] == 2.5
        assert wait_until(lambda: driver._hogs[0].poll() is not None, 8), "the hog outlived its bound"
    finally:
        driver.heal()


def test_a_hog_dies_with_the_process_that_started_it(tmp_path: Path) -> None:
    """The parent brownout is SIGKILLed (no heal runs): the hog goes too, long before its own deadline."""
    script = ("import subprocess, sys, time; h = subprocess.Popen([sys.executable, '-m', 'brownout.faults.hog', "
              "'cpu', '--seconds', '60', '--parent', str(__import__('os').getpid())]); print(h.pid, flush=True); "
              "time.sleep(60)")  # fmt: skip
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    assert parent.stdout is not None
    hog = psutil.Process(int(parent.stdout.readline()))
    parent.kill()
    parent.wait()
    parent.stdout.close()
    assert wait_until(lambda: not hog.is_running() or hog.status() == psutil.STATUS_ZOMBIE, 5)


def test_memory_is_held_until_the_heal(endpoints: Endpoints) -> None:
    driver = _driver(endpoints, ResourceParams("gateway", "memory", limit_mb=64))
    evidence = driver.inject()
    try:
        assert evidence["held_mb"] >= 64
        assert psutil.Process(evidence["hog_pids"][0]).memory_info().rss >= 64 << 20
    finally:
        healed = driver.heal()
    assert healed["hogs_stopped"] == 1 and not psutil.pid_exists(evidence["hog_pids"][0])


def test_more_memory_than_the_machine_can_spare_is_refused(endpoints: Endpoints) -> None:
    too_much = psutil.virtual_memory().total // (1 << 20)
    driver = _driver(endpoints, ResourceParams("gateway", "memory", limit_mb=too_much))
    with pytest.raises(FaultError, match="more than 50% of the .* MB available"):
        driver.inject()
    assert driver._hogs == []


def test_the_clock_offset_is_read_back_from_the_component_and_healed(endpoints: Endpoints, stack: Stack) -> None:
    if resource_module.libfaketime() is None:
        pytest.skip(f"libfaketime is not installed: {resource_module.LIBFAKETIME_FIX}")
    driver = _driver(endpoints, ResourceParams("gateway", "clock", offset_s=3600.0))
    pid_before = stack.component_status("gateway").pid
    try:
        evidence = driver.inject()
        assert abs(evidence["offset_read_back_s"] - 3600) <= 1 and evidence["pid"] != pid_before
        # the gateway still serves under the fake clock
        assert requests.post(f"{stack.url('gateway')}/threads", json={}, timeout=5).status_code == 201
    finally:
        healed = driver.heal()
    assert abs(healed["offset_after_heal_s"]) <= 1


def test_env_only_goes_with_a_start_or_restart(endpoints: Endpoints) -> None:
    headers = {"Authorization": f"Bearer {endpoints.token}"}
    url = f"{endpoints.control_url}/components/upstream/freeze"
    answer = requests.post(url, json={"env": {"X": "1"}}, headers=headers, timeout=5)
    assert answer.status_code == 400 and "env only goes with start or restart" in answer.json()["error"]


def _tmpfs(path: Path, size_mb: int) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    yield from _tmpfs(tmp_path / "data", 4)


def test_a_small_filesystem_is_filled_and_the_heal_frees_it(small_fs: Path) -> None:
    target = ResourceTarget(control_url="http://127.0.0.1:9", token=None, data_dir=small_fs, url=None, hog_seconds=5)
    driver = ResourceDriver(target, ResourceParams("c", "disk", mode="full", limit_mb=8), "fill")
    evidence = driver.inject()
    assert evidence["free_bytes_after"] == 0 and evidence["written_bytes"] >= 3 << 20
    with pytest.raises(OSError, match="No space left"), (small_fs / "component-write").open("wb") as handle:
        handle.write(b"x" * 65536)
        handle.flush()
    assert driver.heal()["free_bytes_after_heal"] >= 3 << 20


def test_what_the_machine_cannot_do_stops_the_run_at_pre_flight(
    endpoints: Endpoints, stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resource_module, "LIBFAKETIME_GLOBS", (str(tmp_path / "no-libfaketime.so"),))
    faults = "".join(
        f'[[faults]]\nname = "{name}"\nkind = "resource"\ntarget = "gateway"\n{fields}\nat = "{at}s"\nduration = "2s"\n'
        for at, (name, fields) in zip((1, 4, 7), (("skew", 'resource = "clock"\noffset = "30s"'),
                             ("slow-disk", 'resource = "disk"\nmode = "slow"'),
                             ("full-disk", 'resource = "disk"\nmode = "full"\nlimit_mb = 1')), strict=True)
    )  # fmt: skip
    text = f'name = "r"\n[stack]\npath = "{SAMPLE_STACK}"\n[load]\nusers = {{ ChatUser = 1 }}\n' \
           f'steps = [{{ users = 1, spawn_rate = 1, duration = "10s" }}]\n{faults}'  # fmt: skip
    scenario = parse_scenario(text, tmp_path / "s.toml")
    with pytest.raises(InputError) as refused:
        preflight(scenario, scenario.faults, endpoints, host=stack.url("gateway"), host_field="--host",
                  from_target=False)  # fmt: skip
    said = str(refused.value)
    assert "3 problem(s)" in said and "apt-get install -y libfaketime" in said
    assert "mode 'slow' is not available" in said and "more than limit_mb 1" in said


def test_the_report_puts_each_resource_evidence_in_words() -> None:
    cpu = {"resource": "cpu", "pid": 7, "cpus": [0, 1], "hog_pids": [8, 9], "hogs_stopped": 2}
    assert describe_evidence(cpu) == "2 CPU hogs on CPUs [0, 1] beside pid 7, 2 stopped at heal"
    clock = {"resource": "clock", "pid": 7, "faketime": "+30", "offset_read_back_s": 30, "offset_after_heal_s": 0}
    assert describe_evidence(clock) == "FAKETIME=+30 on pid 7, offset read back 30 s, 0 s after heal"
    memory = {"resource": "memory", "pid": 7, "held_mb": 64, "available_mb_before": 900, "available_mb_after": 836}
    assert describe_evidence(memory) == "64 MB held beside pid 7, MemAvailable 900 -> 836 MB"
    assert describe_evidence({"resource": "disk", "written_bytes": 4 << 20}).startswith("ballast ")
