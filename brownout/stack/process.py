"""Child processes that cannot outlive the supervisor: own session, PR_SET_PDEATHSIG, group-wide signals."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import psutil

from brownout.net.polling import wait_until

_PR_SET_PDEATHSIG = 1
# Loaded in the parent: the child runs between fork and exec, where loading a library is not safe.
_LIBC = ctypes.CDLL(None, use_errno=True)


def _die_with_parent_hook() -> Callable[[], None]:
    """preexec_fn: the kernel SIGKILLs the child when the thread that forked it exits."""
    parent = os.getpid()

    def _hook() -> None:
        if _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            os._exit(126)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(125)

    return _hook


def spawn(argv: list[str], *, env: Mapping[str, str], cwd: Path, log_path: Path) -> subprocess.Popen[bytes]:
    """Start argv in its own session (so a signal reaches its whole group), output appended to log_path.

    Call this from a thread that lives as long as the child should: PDEATHSIG fires when it exits.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        log.write(f"--- brownout: starting {argv} at {time.strftime('%Y-%m-%dT%H:%M:%S')} ---\n".encode())
        log.flush()
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
            preexec_fn=_die_with_parent_hook(),
            close_fds=True,
        )


def signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    """Send sig to the child's process group, unless the child was already reaped (its id may be reused)."""
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def descendants(proc: subprocess.Popen[bytes]) -> list[psutil.Process]:
    """The child's process tree below it, also members that left its group (PostgreSQL's backends each
    call setsid(), so a group-wide SIGSTOP would freeze the postmaster and leave every connection served)."""
    if proc.returncode is not None:
        return []
    try:
        return psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        return []


def signal_tree(proc: subprocess.Popen[bytes], sig: int, tree: list[psutil.Process] | None = None) -> None:
    """sig to the child's group and to every descendant (collected before, when the caller passes `tree`)."""
    members = descendants(proc) if tree is None else tree
    signal_group(proc, sig)
    for member in members:
        with contextlib.suppress(psutil.Error):
            member.send_signal(sig)  # psutil checks the process is still the one it saw (no reused pid)


def terminate(proc: subprocess.Popen[bytes], grace_s: float, stop_signal: int = signal.SIGTERM) -> int | None:
    """stop_signal to the group, SIGKILL after grace_s; returns the exit code (None if it would not die)."""
    if proc.poll() is None:
        signal_group(proc, stop_signal)
        signal_tree(proc, signal.SIGCONT)  # a frozen process only acts on the signal once it runs again
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            signal_group(proc, signal.SIGKILL)
    return kill(proc)


def kill(proc: subprocess.Popen[bytes]) -> int | None:
    """SIGKILL the tree and reap the leader; also sweeps group members the leader left behind."""
    signal_tree(proc, signal.SIGKILL, descendants(proc))  # collected first: orphans leave the tree
    try:
        code = proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        return None
    # Right after reaping, the group id cannot belong to anyone else while stragglers still use it.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    return code


def wait_until_stopped(pid: int, timeout_s: float = 2.0) -> bool:
    """After SIGSTOP: True once the kernel reports the process as stopped."""
    answer = wait_until(lambda: _stopped(pid), done=lambda found: found is not None, within_s=timeout_s, every_s=0.01)
    return answer is True


def _stopped(pid: int) -> bool | None:
    """True: stopped; False: gone (no use waiting on); None: not yet."""
    try:
        return True if psutil.Process(pid).status() in (psutil.STATUS_STOPPED, psutil.STATUS_TRACING_STOP) else None
    except psutil.NoSuchProcess:
        return False


def log_tail(path: Path, lines: int = 20) -> str:
    """The last lines of a component's log, for error messages."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 16384))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return "(no log)"
    tail = text.splitlines()[-lines:]
    return "\n".join(f"    | {line}" for line in tail) if tail else "    (log is empty)"
