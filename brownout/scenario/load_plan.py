"""The scenario's `[load]`: rising load in steps (or a ramp), an optional spike, and the user mix.

`Load.target_at(t)` is what a Locust LoadTestShape needs; `Load.time_to_reach(users)` plans `when_users`
faults. Errors name the file and the field (InputError, exit 2), as everywhere in a scenario.
"""

from __future__ import annotations

from dataclasses import dataclass

from brownout.inputs import TomlTable, format_duration


@dataclass(frozen=True)
class LoadStep:
    users: int
    spawn_rate: float
    duration_s: float


@dataclass(frozen=True)
class Spike:
    """A short burst to `users` at offset `at_s`, on top of whatever step is in force."""

    at_s: float
    users: int
    duration_s: float
    spawn_rate: float


@dataclass(frozen=True)
class Load:
    steps: tuple[LoadStep, ...]
    user_mix: tuple[tuple[str, int], ...] = ()
    spike: Spike | None = None
    locustfile: str | None = None

    @property
    def duration_s(self) -> float:
        return sum(step.duration_s for step in self.steps)

    @property
    def max_users(self) -> int:
        peak = max(step.users for step in self.steps)
        return max(peak, self.spike.users) if self.spike else peak

    def step_starts(self) -> list[float]:
        starts, offset = [], 0.0
        for step in self.steps:
            starts.append(offset)
            offset += step.duration_s
        return starts

    def target_at(self, t: float) -> tuple[int, float, int] | None:
        """(users, spawn_rate, step index) in force at offset t, or None once the load is over.

        This is what a Locust LoadTestShape.tick() needs; the spike overrides the user count only.
        """
        for index, (start, step) in enumerate(zip(self.step_starts(), self.steps, strict=True)):
            if start <= t < start + step.duration_s:
                spike = self.spike
                if spike and spike.at_s <= t < spike.at_s + spike.duration_s:
                    return spike.users, spike.spawn_rate, index
                return step.users, step.spawn_rate, index
        return None

    def time_to_reach(self, users: int) -> float | None:
        """Planned offset at which the load first reaches `users` (spawning at each step's rate)."""
        best: float | None = None
        previous = 0
        for start, step in zip(self.step_starts(), self.steps, strict=True):
            if step.users >= users:
                best = start + max(0.0, users - previous) / step.spawn_rate
                break
            previous = step.users
        spike = self.spike
        if spike and spike.users >= users:
            below = next(
                (
                    step.users
                    for start, step in zip(self.step_starts(), self.steps, strict=True)
                    if start <= spike.at_s < start + step.duration_s
                ),
                0,
            )
            at_spike = spike.at_s + max(0.0, users - below) / spike.spawn_rate
            best = at_spike if best is None else min(best, at_spike)
        return best


def _read_step(table: TomlTable) -> LoadStep:
    table.only("users", "spawn_rate", "duration")
    users = table.integer("users", required=True, minimum=0)
    spawn_rate = table.number("spawn_rate", required=True, positive=True)
    duration = table.duration("duration", required=True)
    table.finish()
    assert users is not None and spawn_rate is not None and duration is not None
    return LoadStep(users=users, spawn_rate=spawn_rate, duration_s=duration)


def _read_ramp(table: TomlTable) -> tuple[LoadStep, ...]:
    table.only("from", "to", "step", "step_duration", "spawn_rate")
    start = table.integer("from", minimum=0, default=0)
    end = table.integer("to", required=True, minimum=1)
    increment = table.integer("step", required=True, minimum=1)
    step_duration = table.duration("step_duration", required=True)
    spawn_rate = table.number("spawn_rate", required=True, positive=True)
    table.finish()
    assert start is not None and end is not None and increment is not None
    assert step_duration is not None and spawn_rate is not None
    if end < start:
        raise table.error("to", f"must be at least `from` ({start}), got {end}")
    levels = list(range(start, end + 1, increment))
    if levels[-1] != end:
        levels.append(end)
    return tuple(LoadStep(users=u, spawn_rate=spawn_rate, duration_s=step_duration) for u in levels if u > 0)


def _read_spike(table: TomlTable, load_end: float) -> Spike:
    table.only("at", "users", "duration", "spawn_rate")
    at = table.duration("at", required=True, allow_zero=True)
    users = table.integer("users", required=True, minimum=1)
    duration = table.duration("duration", required=True)
    spawn_rate = table.number("spawn_rate", required=True, positive=True)
    table.finish()
    assert at is not None and users is not None and duration is not None and spawn_rate is not None
    if at + duration > load_end:
        raise table.error(
            "duration",
            f"the spike ends at {format_duration(at + duration)}, after the load ends at {format_duration(load_end)}",
        )
    return Spike(at_s=at, users=users, duration_s=duration, spawn_rate=spawn_rate)


def read_load(table: TomlTable) -> Load:
    table.only("steps", "ramp", "spike", "users", "locustfile")
    if table.has("steps") and table.has("ramp"):
        raise table.error("ramp", "give either `steps` or `ramp`, not both")
    if table.has("ramp"):
        ramp = table.table("ramp")
        assert ramp is not None
        steps = _read_ramp(ramp)
    else:
        raw_steps = table.raw("steps")
        if raw_steps is None:
            raise table.missing("steps", "give `steps = [{users, spawn_rate, duration}, ...]` or a `[load.ramp]` table")
        if not isinstance(raw_steps, list) or not raw_steps:
            raise table.error("steps", "must be a non-empty list of {users, spawn_rate, duration} tables")
        steps = tuple(
            _read_step(TomlTable(raw, file=table.file, where=f"load.steps[{i}]")) for i, raw in enumerate(raw_steps)
        )
    if not any(step.users > 0 for step in steps):
        raise table.error("steps", "every step has 0 users: nothing would drive the service")
    mix: list[tuple[str, int]] = []
    mix_table = table.table("users")
    if mix_table is not None:
        for name in mix_table.keys():  # noqa: SIM118 (a TomlTable, not a dict)
            weight = mix_table.integer(name, minimum=1)
            assert weight is not None
            mix.append((name, weight))
        mix_table.finish()
    locustfile = table.string("locustfile")
    load_end = sum(step.duration_s for step in steps)
    spike_table = table.table("spike")
    spike = _read_spike(spike_table, load_end) if spike_table is not None else None
    table.finish()
    return Load(steps=steps, user_mix=tuple(mix), spike=spike, locustfile=locustfile)
