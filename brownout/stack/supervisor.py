"""The supervisor thread: the only thread that starts, signals and reaps the stack's processes.

One long-lived thread owns every child because PR_SET_PDEATHSIG fires when the *thread* that forked a
child exits; control API requests arrive on short-lived threads, so they hand their work over here and
wait for the answer. The thread also watches: readiness probes, unexpected exits, on-failure restarts.
Under gevent's monkey patching the thread is a greenlet and everything below still holds.
"""

from __future__ import annotations

import logging
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field

from brownout.errors import StackError
from brownout.stack import process
from brownout.stack.layout import Launch, Layout, launch_for
from brownout.stack.readiness import ReadyCommandMissing, command_says_ready, is_ready
from brownout.stack.spec import ComponentSpec, StackSpec
from brownout.stack.status import (
    ACTIONS,
    ENV_ACTIONS,
    EXITED,
    FROZEN,
    RUNNING,
    STOPPED,
    ComponentStateError,
    ComponentStatus,
    UnknownComponentError,
)

log = logging.getLogger("brownout.stack")

_TICK_S = 0.05
_COMMAND_PROBE_EVERY_S = 0.25  # a readiness command is a process start: not on every tick
_MAX_BACKOFF_S = 5.0


@dataclass
class _Waiter:
    future: Future[ComponentStatus]
    deadline: float


@dataclass
class _Child:
    spec: ComponentSpec
    launch: Launch
    proc: subprocess.Popen[bytes] | None = None
    state: str = STOPPED
    ready: bool = False
    starts: int = 0
    exit_code: int | None = None
    failures: int = 0  # unexpected exits since the component was last ready
    restart_at: float | None = None
    next_probe_at: float = 0.0
    probe_problem: str = ""  # why the readiness check cannot work, for the timeout message
    waiters: list[_Waiter] = field(default_factory=list)
    # env set by a start/restart request (a `resource` clock fault's LD_PRELOAD + FAKETIME), laid over the
    # stack file's env for that start and every later one, until a start/restart sets another (`{}` clears)
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.name

    def status(self) -> ComponentStatus:
        alive = self.state in (RUNNING, FROZEN) and self.proc is not None
        return ComponentStatus(
            name=self.name,
            pid=self.proc.pid if alive and self.proc is not None else None,
            state=self.state,
            ready=self.ready and self.state == RUNNING,
            port=self.launch.port,
            restarts=max(0, self.starts - 1),
            critical=self.spec.critical,
            exit_code=self.exit_code,
        )


class Supervisor:
    def __init__(
        self,
        spec: StackSpec,
        layout: Layout,
        on_stopping: Callable[[], None] | None = None,
        on_stopped: Callable[[], None] | None = None,
    ) -> None:
        self._spec = spec
        self._children = {c.name: _Child(c, launch_for(spec, c, layout)) for c in spec.components}
        self._inbox: queue.Queue[tuple[str, str, Future[ComponentStatus], Mapping[str, str] | None]] = queue.Queue()
        self._stop_requested = threading.Event()
        self._stopped = threading.Event()
        self._on_stopping = on_stopping
        self._on_stopped = on_stopped  # after every component has stopped (their data dirs are free)
        self._interrupted: KeyboardInterrupt | None = None  # a Ctrl-C that landed on this thread
        self._snapshot: tuple[ComponentStatus, ...] = ()
        self._publish()
        self._thread = threading.Thread(target=self._run, name="brownout-stack-supervisor", daemon=True)

    # ---- used from any other thread -------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def statuses(self) -> tuple[ComponentStatus, ...]:
        return self._snapshot

    def call(self, action: str, name: str, env: Mapping[str, str] | None = None) -> ComponentStatus:
        """Run one action on the supervisor thread and wait for its answer (start/restart: until ready).

        `env` (start and restart only) replaces the component's extra env for this start and later ones.
        """
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        if env is not None and action not in ENV_ACTIONS:
            raise ValueError(f"env only goes with {' or '.join(ENV_ACTIONS)}, not {action!r}")
        if name not in self._children:
            raise UnknownComponentError(f"no component named {name!r} (known: {', '.join(self._children)})")
        if threading.current_thread() is self._thread:
            raise RuntimeError("Supervisor.call from the supervisor thread would wait for itself")
        if self._stop_requested.is_set():
            raise StackError(f"cannot {action} {name!r}: the stack is shutting down")
        future: Future[ComponentStatus] = Future()
        self._inbox.put((action, name, future, env))
        child = self._children[name]
        budget = child.spec.ready_timeout_s + child.launch.stop_timeout_s + 15.0
        try:
            return future.result(timeout=budget)
        except FutureTimeout:
            raise StackError(f"the supervisor did not finish {action} {name!r} within {budget:.0f}s") from None

    def request_stop(self) -> None:
        self._stop_requested.set()

    def wait_stopped(self, timeout_s: float | None) -> bool:
        return self._stopped.wait(timeout_s)

    def join(self, timeout_s: float) -> None:
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout_s)

    # ---- the supervisor thread ------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stop_requested.is_set():
                try:
                    command = self._inbox.get(timeout=_TICK_S)
                except queue.Empty:
                    command = None
                if command is not None:
                    self._handle(*command)
                self._watch()
                self._publish()
        except KeyboardInterrupt as exc:
            # Under gevent this thread is a greenlet of the main thread, so a Ctrl-C can land here instead
            # of in the caller waiting for us: every waiter gets it, and stops as after any Ctrl-C.
            log.warning("interrupted (Ctrl-C): stopping every component")
            self._interrupted = exc
        except BaseException:
            log.exception("the stack supervisor failed; stopping every component")
            raise
        finally:
            self._shut_down()

    def _publish(self) -> None:
        self._snapshot = tuple(child.status() for child in self._children.values())

    def _handle(self, action: str, name: str, future: Future[ComponentStatus], env: Mapping[str, str] | None) -> None:
        if not future.set_running_or_notify_cancel():
            return
        child = self._children[name]
        if env is not None:
            child.extra_env = dict(env)
        try:
            done = getattr(self, f"_{action}")(child)
        except BaseException as exc:  # handed to the caller, who raises it in its own thread
            future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise  # a Ctrl-C (see _run): the caller stops too, and so does this thread
            return
        if done:
            self._publish()  # a caller told "done" reads the state at once: not the last tick's snapshot
            future.set_result(child.status())
        else:
            child.waiters.append(_Waiter(future, time.monotonic() + child.spec.ready_timeout_s))

    # Each action returns True when it is complete, False when the caller waits for readiness.

    def _start(self, child: _Child) -> bool:
        if child.state in (RUNNING, FROZEN):
            return child.ready or child.state == FROZEN
        child.failures = 0
        self._spawn(child)
        return False

    def _restart(self, child: _Child) -> bool:
        if child.proc is not None and child.state in (RUNNING, FROZEN):
            child.exit_code = self._terminate(child)
            self._mark_down(child, STOPPED, f"restarted by request; {child.name!r} was stopped")
        child.failures = 0
        self._spawn(child)
        return False

    @staticmethod
    def _terminate(child: _Child) -> int | None:
        assert child.proc is not None
        return process.terminate(child.proc, child.launch.stop_timeout_s, child.launch.stop_signal)

    def _kill(self, child: _Child) -> bool:
        if child.proc is not None and child.state in (RUNNING, FROZEN):
            child.exit_code = process.kill(child.proc)
        self._mark_down(child, STOPPED, f"component {child.name!r} was killed by request")
        return True

    def _freeze(self, child: _Child) -> bool:
        if child.state == FROZEN:
            return True
        if child.state != RUNNING or child.proc is None:
            raise ComponentStateError(f"cannot freeze {child.name!r}: it is {child.state}")
        process.signal_tree(child.proc, signal.SIGSTOP)
        if not process.wait_until_stopped(child.proc.pid):
            raise StackError(f"{child.name!r} (pid {child.proc.pid}) did not stop after SIGSTOP")
        child.state = FROZEN
        return True

    def _thaw(self, child: _Child) -> bool:
        if child.state == RUNNING:
            return True
        if child.state != FROZEN or child.proc is None:
            raise ComponentStateError(f"cannot thaw {child.name!r}: it is {child.state}, not frozen")
        process.signal_tree(child.proc, signal.SIGCONT)
        child.state = RUNNING
        return True

    def _spawn(self, child: _Child) -> None:
        launch = child.launch
        launch.data_dir.mkdir(parents=True, exist_ok=True)
        child.restart_at = None
        try:
            child.proc = process.spawn(
                list(launch.argv), env={**launch.env, **child.extra_env}, cwd=self._spec.cwd, log_path=launch.log_path
            )
        except OSError as exc:
            child.state, child.proc = EXITED, None
            raise StackError(
                f"component {child.name!r}: cannot run {launch.argv[0]!r} (cwd {self._spec.cwd}): {exc}"
            ) from None
        child.state, child.ready, child.exit_code = RUNNING, False, None
        child.next_probe_at = 0.0
        child.starts += 1
        extra = f" (extra env: {', '.join(sorted(child.extra_env))})" if child.extra_env else ""
        log.info("started %s (pid %d): %s%s", child.name, child.proc.pid, " ".join(launch.argv), extra)

    def _mark_down(self, child: _Child, state: str, why: str) -> None:
        child.state, child.ready, child.restart_at = state, False, None
        self._fail_waiters(child, why)

    def _fail_waiters(self, child: _Child, why: str) -> None:
        for waiter in child.waiters:
            if not waiter.future.done():
                waiter.future.set_exception(self._interrupted or StackError(why))
        child.waiters.clear()

    def _watch(self) -> None:
        now = time.monotonic()
        for child in self._children.values():
            if child.proc is not None and child.state in (RUNNING, FROZEN):
                code = child.proc.poll()
                if code is not None:
                    self._on_unexpected_exit(child, code, now)
                    continue
            if child.state == RUNNING and not child.ready:
                self._probe(child, now)
            elif child.state == EXITED and child.restart_at is not None and now >= child.restart_at:
                try:
                    self._spawn(child)
                except StackError as exc:
                    log.error("%s", exc)

    def _is_ready(self, child: _Child, now: float) -> bool:
        launch = child.launch
        if launch.ready_command is None:
            return is_ready(launch.ready_url, launch.port)
        if now < child.next_probe_at:
            return False
        child.next_probe_at = now + _COMMAND_PROBE_EVERY_S
        try:
            return command_says_ready(launch.ready_command, env=launch.env, cwd=self._spec.cwd)
        except ReadyCommandMissing as exc:
            child.probe_problem = f"; the ready command's program {exc}"
            return False

    def _probe(self, child: _Child, now: float) -> None:
        if self._is_ready(child, now):
            child.ready, child.failures = True, 0
            log.info("%s is ready on port %d", child.name, child.launch.port)
            self._publish()
            for waiter in child.waiters:
                if not waiter.future.done():
                    waiter.future.set_result(child.status())
            child.waiters.clear()
            return
        late = [w for w in child.waiters if now >= w.deadline]
        if late:
            target = child.launch.ready_url or f"TCP port {child.launch.port}"
            if child.launch.ready_command is not None:
                target = f"ready command {' '.join(child.launch.ready_command)}{child.probe_problem}"
            log_path = child.launch.log_path
            error = StackError(
                f"component {child.name!r} did not become ready within {child.spec.ready_timeout_s:g}s "
                f"({target}); last lines of {log_path}:\n{process.log_tail(log_path)}"
            )
            for waiter in late:
                if not waiter.future.done():
                    waiter.future.set_exception(error)
            child.waiters = [w for w in child.waiters if w not in late]

    def _on_unexpected_exit(self, child: _Child, code: int, now: float) -> None:
        child.exit_code = code
        child.failures += 1
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        self._mark_down(
            child,
            EXITED,
            f"component {child.name!r} {how}; last lines of {child.launch.log_path}:\n"
            f"{process.log_tail(child.launch.log_path)}",
        )
        # on-failure, like Docker: a clean exit (0) is not a failure, and a crash loop gives up eventually
        if child.spec.restart == "on-failure" and code != 0 and child.failures <= child.spec.max_restarts:
            delay = min(0.2 * 2 ** (child.failures - 1), _MAX_BACKOFF_S)
            child.restart_at = now + delay
            log.warning("%s %s; restarting in %.1fs (on-failure)", child.name, how, delay)
        else:
            log.warning("%s %s", child.name, how)

    def _shut_down(self) -> None:
        self._stop_requested.set()
        try:
            if self._on_stopping is not None:
                self._on_stopping()
        finally:
            self._stop_children()
            if self._on_stopped is not None:
                self._on_stopped()
            while not self._inbox.empty():
                _, name, future, _ = self._inbox.get_nowait()
                if future.set_running_or_notify_cancel():
                    future.set_exception(
                        self._interrupted or StackError(f"the stack shut down before acting on {name!r}")
                    )
            self._publish()
            self._stopped.set()

    def _stop_children(self) -> None:
        for child in reversed(list(self._children.values())):
            if child.proc is not None and child.state in (RUNNING, FROZEN):
                child.exit_code = self._terminate(child)
                log.info("stopped %s (exit code %s)", child.name, child.exit_code)
            self._mark_down(child, STOPPED, "the stack shut down")
