"""A component's data dir as a tmpfs of its own for a disk fault (brownout.stack.small_disk): mounted before
the component starts, unmounted once it has stopped, its files kept and the ballast not; a killed run's
mount is unmounted by `brownout heal`. Mounting needs root: without it these tests are skipped."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from brownout.faults.heal import heal_run
from brownout.faults.journal import FaultJournal
from brownout.plugin.target import small_disks_for
from brownout.scenario.schema import parse_scenario
from brownout.scenario.shipped import SAMPLE_STACK
from brownout.stack import Stack
from brownout.stack.small_disk import mount_small_disk, unmount_small_disks_under
from tests.stack.stack_helpers import fake, write_stack

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")


def _mounted(path: Path) -> bool:
    return os.path.ismount(path)


def test_a_disk_full_fault_asks_for_a_data_dir_of_its_limit(tmp_path: Path) -> None:
    faults = "".join(
        f'[[faults]]\nname = "{name}"\nkind = "resource"\ntarget = "{target}"\n{fields}\n'
        f'at = "{at}s"\nduration = "2s"\n'
        for at, (name, target, fields) in zip((1, 4, 7, 10), (
            ("full", "notifier", 'resource = "disk"\nmode = "full"\nlimit_mb = 16'),
            ("fuller", "notifier", 'resource = "disk"\nmode = "full"\nlimit_mb = 32'),
            ("default", "gateway", 'resource = "disk"\nmode = "full"'),
            ("cpu", "upstream", 'resource = "cpu"'),
        ), strict=True)
    )  # fmt: skip
    text = f'name = "r"\n[stack]\npath = "{SAMPLE_STACK}"\n[load]\nusers = {{ ChatUser = 1 }}\n' \
           f'steps = [{{ users = 1, spawn_rate = 1, duration = "20s" }}]\n{faults}'  # fmt: skip
    assert small_disks_for(parse_scenario(text, tmp_path / "s.toml")) == {"notifier": 32, "gateway": 256}


@needs_root
def test_the_stack_mounts_it_before_the_component_and_keeps_its_files_after(tmp_path: Path) -> None:
    spec = write_stack(tmp_path / "stack.toml", [fake("app")])
    run_dir = tmp_path / "run"
    with Stack.start(spec, run_dir, ephemeral_ports=True, control=False, small_disks={"app": 8}) as stack:
        data = run_dir / "data" / "app"
        assert _mounted(data) and stack.component_status("app").state == "running"
        (data / "kept.txt").write_text("the component's data\n")
        (data / ".brownout-ballast-full").write_bytes(b"x" * 1024)
    assert not _mounted(data)
    assert (data / "kept.txt").read_text() == "the component's data\n"
    assert not (data / ".brownout-ballast-full").exists()


@needs_root
def test_a_mount_a_killed_run_left_is_unmounted_by_heal(tmp_path: Path) -> None:
    FaultJournal(tmp_path).write([])  # a run killed before any fault
    data = tmp_path / "stack" / "data" / "notifier"
    assert mount_small_disk(data, 4) is None
    (data / "events.jsonl").write_text("{}\n")
    said: list[str] = []
    assert heal_run(tmp_path, say=said.append) == []
    assert not _mounted(data) and (data / "events.jsonl").read_text() == "{}\n"
    assert said == [f"unmounted {data}: the small data dir a disk fault had, left by a run that was killed"]
    assert unmount_small_disks_under(tmp_path) == []  # nothing left: a second heal does nothing


@needs_root
def test_only_brownouts_own_mounts_are_unmounted(tmp_path: Path) -> None:
    import subprocess

    data = tmp_path / "stack" / "data" / "db"
    data.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "someone-else", str(data)], check=True)
    try:
        assert unmount_small_disks_under(tmp_path) == [] and _mounted(data)
        assert "already a mount point" in (mount_small_disk(data, 4) or "")
    finally:
        subprocess.run(["umount", "-l", str(data)], check=False)


@needs_root
def test_the_next_brownout_run_unmounts_what_a_killed_run_left(tmp_path: Path) -> None:
    from brownout.faults.heal import heal_previous

    run = tmp_path / "20261205T000000Z-1"
    FaultJournal(run).write([])
    (tmp_path / "latest").symlink_to(run.name)
    data = run / "stack" / "data" / "notifier"
    assert mount_small_disk(data, 4) is None
    said: list[str] = []
    try:
        heal_previous(tmp_path, say=said.append)
        assert not _mounted(data) and said == [
            f"unmounted {data}: the small data dir a disk fault had, left by a run that was killed"
        ]
    finally:
        unmount_small_disks_under(run)  # never leave a mount behind, even when the test fails
