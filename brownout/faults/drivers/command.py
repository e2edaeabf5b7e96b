"""`command` faults: an argv list at inject and (optionally) another at heal; never a shell string."""

from __future__ import annotations

import subprocess

from brownout.errors import FaultError
from brownout.faults.drivers.base import BODY_HEAD, Evidence
from brownout.faults.kinds import CommandParams


class CommandDriver:
    def __init__(self, params: CommandParams, fault_name: str) -> None:
        self.params = params
        self.fault_name = fault_name

    def _run(self, argv: tuple[str, ...], step: str) -> Evidence:
        what = f"{step} fault {self.fault_name!r}: command {list(argv)!r}"
        try:
            done = subprocess.run(
                list(argv),
                capture_output=True,
                text=True,
                timeout=self.params.timeout_s,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        except FileNotFoundError:
            raise FaultError(f"cannot {what}: {argv[0]!r} not found (give a full path or fix PATH)") from None
        except PermissionError:
            raise FaultError(f"cannot {what}: {argv[0]!r} is not executable") from None
        except subprocess.TimeoutExpired:
            raise FaultError(
                f"cannot {what}: still running after {self.params.timeout_s:g}s "
                f"(raise `timeout` or make the command finish)"
            ) from None
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise FaultError(
                f"cannot {what}: exit status {done.returncode}" + (f": {' | '.join(tail)}" if tail else "")
            )
        return {step: {"exit": done.returncode, "stdout": done.stdout[:BODY_HEAD], "stderr": done.stderr[:BODY_HEAD]}}

    def inject(self) -> Evidence:
        return self._run(self.params.inject, "inject")

    def heal(self) -> Evidence | None:
        return None if self.params.heal is None else self._run(self.params.heal, "heal")
