"""Verdict stability: do the shipped scenarios pass on a healthy build every time, does `compare` stay quiet
on same-build pairs, and does it flag a real slowdown?

    python -m bench.stability                       # make stability: smoke x20, ci x10, default x3
    python -m bench.stability run scenarios/ci.toml -n 10 --out results/stability/ci
    python -m bench.stability run scenarios/ci.toml -n 10 --variant upstream-latency=60 --out results/stability/ci-slow
    python -m bench.stability pairs results/stability/ci             # consecutive same-build pairs
    python -m bench.stability detect results/stability/ci results/stability/ci-slow   # run i vs run i
    python -m bench.stability history results/stability/ci results/stability/ci-slow --baseline-runs 5 \
        --scope "POST /threads/[id]/messages"   # one run against a store of the first 5 (compare --store)
    python -m bench.stability rejudge results/stability/smoke   # the same histories through today's checks
    python -m bench.stability accuracy -n 5    # measured recovery vs the gateway's own log of its breaker closing
    python -m bench.stability totals -n 10     # short runs: timeline.csv's totals against locust_stats.csv's

Variants change a copy of the scenario's stack file: `upstream-latency=MS` (the model provider's latency,
20 ms in the sample) and `breaker-reset=S` (the gateway breakers' reset timeout, 5 s in the sample).
Runs go one after another (the machine has 2 cores); the output says how busy it was (load average).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from brownout.history import read_faults

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "brownout"]
DEFAULT_PLAN = (("smoke", 20), ("ci", 10), ("default", 3))


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} on {os.cpu_count()} cores"


def _variant_scenario(scenario: Path, variant: str, workdir: Path) -> Path:
    """A copy of the scenario whose stack file has one setting changed."""
    key, _, value = variant.partition("=")
    text = scenario.read_text()
    stack_rel = re.search(r'^path\s*=\s*"([^"]+)"', text, re.M)
    if stack_rel is None:
        raise SystemExit(f"{scenario}: no [stack] path to make a variant of")
    stack = (scenario.parent / stack_rel.group(1)).resolve()
    stack_text = stack.read_text()
    stack_text = re.sub(r'^cwd\s*=\s*"([^"]+)"', lambda m: f'cwd = "{(stack.parent / m.group(1)).resolve()}"',
                        stack_text, flags=re.M)  # fmt: skip
    if key == "upstream-latency":
        stack_text, count = re.subn(r'"--latency-ms", "\d+"', f'"--latency-ms", "{int(value)}"', stack_text)
    elif key == "breaker-reset":
        stack_text, count = re.subn(
            r'("-m", "targets\.sample\.gateway",)', rf'\1 "--breaker-reset-timeout", "{float(value)}",', stack_text
        )
    else:
        raise SystemExit(f"unknown variant {variant!r}: use upstream-latency=MS or breaker-reset=S")
    if count != 1:
        raise SystemExit(f"variant {variant!r}: expected one place to change in {stack}, found {count}")
    (workdir / "stack.toml").write_text(stack_text)
    copy = workdir / scenario.name
    copy.write_text(text.replace(stack_rel.group(0), f'path = "{workdir / "stack.toml"}"', 1))
    return copy


def _reasons(run: Path) -> list[str]:
    try:
        verdict = json.loads((run / "verdict.json").read_text())
    except (OSError, ValueError) as exc:
        return [f"no verdict.json ({exc})"]
    return [
        f"{check['name']} {check['status'].upper()}: {reason}"
        for check in verdict["checks"]
        if check.get("counts_against")
        for reason in check["reasons"][:3]
    ]


def run_many(scenario: Path, count: int, out: Path, variant: str | None = None) -> tuple[int, list[str]]:
    """Run the scenario `count` times into `out`; returns (passes, one line per run that did not pass)."""
    out.mkdir(parents=True, exist_ok=True)
    failures, passes = [], 0
    with tempfile.TemporaryDirectory() as workdir:
        target = _variant_scenario(scenario, variant, Path(workdir)) if variant else scenario
        for i in range(count):
            started = time.monotonic()
            done = subprocess.run([*CLI, "run", str(target), "--out", str(out)], capture_output=True, text=True,
                                  cwd=ROOT, timeout=900)  # fmt: skip
            latest = max(_runs(out, "manifest.json"), default=out)
            line = f"{scenario.stem} run {i + 1}/{count}: exit {done.returncode} in {time.monotonic() - started:.0f} s"
            print(f"{line} ({latest.name}; {_load()})", flush=True)
            if done.returncode == 0:
                passes += 1
                continue
            why = _reasons(latest) if (latest / "verdict.json").exists() else [done.stderr.strip()[-300:]]
            failures.append(f"{line}: " + "; ".join(why))
            for reason in why:
                print(f"    {reason}", flush=True)
    return passes, failures


def _runs(directory: Path, marker: str = "verdict.json") -> list[Path]:
    """The run directories in `directory`, oldest first (not the `latest` link)."""
    return sorted(p for p in directory.iterdir() if not p.is_symlink() and p.is_dir() and (p / marker).exists())


def _compare(baseline: Path, candidate: Path) -> tuple[int, list[str]]:
    with tempfile.TemporaryDirectory() as out:
        done = subprocess.run([*CLI, "compare", str(baseline), str(candidate), "--out", out],
                              capture_output=True, text=True, cwd=ROOT)  # fmt: skip
        regressed: list[str] = []
        try:
            document = json.loads((Path(out) / "comparison.json").read_text())
            regressed = [
                f"{row.get('scope')} {row.get('metric')} ({row.get('method', '')})"
                for row in document.get("rows", [])
                if row.get("verdict") == "regressed"
            ]
        except (OSError, ValueError):
            regressed = [done.stderr.strip()[-200:]]
    return done.returncode, regressed


def pairs(directory: Path) -> int:
    runs = _runs(directory)
    codes = Counter()
    for base, new in zip(runs, runs[1:], strict=False):
        code, regressed = _compare(base, new)
        codes[code] += 1
        print(f"{base.name} -> {new.name}: exit {code}" + (f": {', '.join(regressed)}" if regressed else ""))
    print(f"same-build pairs: {len(runs) - 1 if runs else 0}, exit 1 in {codes[1]}, exit 2 in {codes[2]}")
    return codes[1]


def detect(baseline_dir: Path, candidate_dir: Path, metric: str | None) -> int:
    base, new = _runs(baseline_dir), _runs(candidate_dir)
    flagged = 0
    for b, c in zip(base, new, strict=False):
        code, regressed = _compare(b, c)
        hit = code == 1 and (metric is None or any(metric in r for r in regressed))
        flagged += hit
        print(f"{b.name} -> {c.name}: exit {code}; regressed: {', '.join(regressed) or 'none'}")
    print(f"flagged {flagged} of {min(len(base), len(new))}" + (f" on {metric}" if metric else ""))
    return flagged


def _compare_store(store: Path, candidate: Path) -> tuple[int, list[str]]:
    with tempfile.TemporaryDirectory() as out:
        done = subprocess.run([*CLI, "compare", "--store", str(store), str(candidate), "--baseline-release", "base",
                               "--out", out, "--format", "json"], capture_output=True, text=True, cwd=ROOT)  # fmt: skip
        try:
            rows = json.loads((Path(out) / "comparison.json").read_text()).get("rows", [])
        except (OSError, ValueError):
            return done.returncode, [done.stderr.strip()[-200:]]
    return done.returncode, [f"{r['scope']} {r['metric']}" for r in rows if r.get("verdict") == "regressed"]


def history(baseline_dir: Path, candidates: list[Path], baseline_runs: int, scope: str | None) -> None:
    """A store of the first `baseline_runs` runs of baseline_dir (release "base"); every later run of it is a
    same-build candidate (false alarm if compare --store exits 1), every run of each candidate directory a
    changed build (flagged when a row of `scope`, or any row, regressed)."""
    runs = _runs(baseline_dir)
    with tempfile.TemporaryDirectory() as directory:
        store = Path(directory) / "store.db"
        subprocess.run([*CLI, "store", "add", str(store), *map(str, runs[:baseline_runs]), "--release", "base"],
                       check=True, capture_output=True, cwd=ROOT)  # fmt: skip
        print(f"store: {baseline_runs} runs of {baseline_dir} as release base")
        for label, group in [("same build", runs[baseline_runs:])] + [(str(c), _runs(c)) for c in candidates]:
            wanted = None if label == "same build" else scope
            flagged = sum(_flagged(store, run, wanted) for run in group)
            print(f"{label}: flagged {flagged} of {len(group)}" + (f" on {wanted}" if wanted else ""), flush=True)


def _flagged(store: Path, run: Path, scope: str | None) -> bool:
    code, regressed = _compare_store(store, run)
    print(f"  {run.name}: exit {code}; regressed: {', '.join(regressed) or 'none'} ({_load()})", flush=True)
    return code == 1 and (scope is None or any(r.startswith(scope) for r in regressed))


def rejudge(directory: Path) -> tuple[int, int]:
    """Judge every run of `directory` again (the checks are pure functions of the history)."""
    runs, passes = _runs(directory, "manifest.json"), 0
    for run in runs:
        done = subprocess.run([*CLI, "report", str(run), "--format", "json"], capture_output=True, text=True,
                              cwd=ROOT)  # fmt: skip
        passes += done.returncode == 0
        reasons = "" if done.returncode == 0 else ": " + "; ".join(_reasons(run))
        print(f"{run.name}: exit {done.returncode}{reasons}", flush=True)
    print(f"{directory.name}: {passes} of {len(runs)} passed")
    return passes, len(runs)


_CLOSED = re.compile(r"breaker upstream: \S+ -> closed at (\d+\.\d+)")
_MESSAGES = "POST /threads/[id]/messages"


def accuracy(count: int, out: Path) -> list[float]:
    """Recovery measured from the history minus the truth (the breaker closing after the heal), per run."""
    scenario = ROOT / "tests" / "run" / "scenarios" / "accuracy.toml"
    errors = []
    for i in range(count):
        subprocess.run([*CLI, "run", str(scenario), "--out", str(out)], capture_output=True, cwd=ROOT, timeout=600)
        run = max(_runs(out))
        (fault,) = read_faults(run)
        heal = fault.actual_end or 0.0
        closes = [float(t) for t in _CLOSED.findall((run / "stack" / "logs" / "gateway.log").read_text())]
        after = [t for t in closes if t >= heal - 0.5]
        verdict = json.loads((run / "verdict.json").read_text())
        recovery = next(c for c in verdict["checks"] if c["name"] == "recovery")
        measured = recovery["figures"]["faults"][0]["operations"][_MESSAGES]["recovery_s"]
        if not after or measured is None:
            print(f"accuracy run {i + 1}: no truth or no measurement ({run.name})")
            continue
        truth = max(0.0, after[0] - heal)
        errors.append(measured - truth)
        print(f"accuracy run {i + 1}: measured {measured:.2f} s, truth {truth:.2f} s, error {measured - truth:+.2f} s")
    worst = max((abs(e) for e in errors), default=float("nan"))
    print(f"accuracy: {len(errors)} runs, worst error {worst:.2f} s ({_load()})")
    return errors


def _locust_totals(run: Path) -> tuple[int, int]:
    import csv

    with (run / "locust_stats.csv").open() as handle:
        row = next(r for r in csv.DictReader(handle) if r["Name"] == "Aggregated")
    return int(row["Request Count"]), int(row["Failure Count"])


def totals(count: int, out: Path, scenario: Path) -> int:
    """Run a short scenario `count` times; count the runs whose timeline totals differ from Locust's."""
    from brownout.history import load_history

    differ = 0
    for i in range(count):
        subprocess.run([*CLI, "run", str(scenario), "--out", str(out), "--no-report"], capture_output=True,
                       cwd=ROOT, timeout=600)  # fmt: skip
        run = max(_runs(out, "manifest.json"))
        stats = load_history(run).timeline.window(0, 1e12)
        ours = (stats.total, stats.failed)
        theirs = _locust_totals(run)
        differ += ours != theirs
        print(f"totals run {i + 1}: timeline {ours[0]} requests / {ours[1]} failed, Locust {theirs[0]} / {theirs[1]}"
              + ("" if ours == theirs else "  <- differ"), flush=True)  # fmt: skip
    print(f"totals: {count - differ} of {count} runs equal ({_load()})")
    return differ


def _plan(out: Path) -> int:
    print(f"stability: {_load()}", flush=True)
    summary, all_passed = [], True
    for name, count in DEFAULT_PLAN:
        passes, failures = run_many(ROOT / "scenarios" / f"{name}.toml", count, out / name)
        summary.append(f"{name}: {passes} of {count} passed")
        summary += [f"  {failure}" for failure in failures]
        all_passed = all_passed and not failures
    print("\n".join(["", *summary, _load()]))
    return 0 if all_passed else 1


def _history_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    hist = sub.add_parser("history", help="one run at a time against a store of a directory's first runs")
    hist.add_argument("baseline", type=Path)
    hist.add_argument("candidates", type=Path, nargs="*")
    hist.add_argument("--baseline-runs", type=int, default=5)
    hist.add_argument("--scope", help="count a candidate as flagged only on this operation or fault")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.stability", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="run one scenario N times")
    run.add_argument("scenario", type=Path)
    run.add_argument("-n", type=int, default=10)
    run.add_argument("--out", type=Path, required=True)
    run.add_argument("--variant", help="upstream-latency=MS or breaker-reset=S")
    pair = sub.add_parser("pairs", help="compare consecutive runs of one directory (same build)")
    pair.add_argument("directory", type=Path)
    det = sub.add_parser("detect", help="compare baseline run i with candidate run i")
    det.add_argument("baseline", type=Path)
    det.add_argument("candidate", type=Path)
    det.add_argument("--metric", help="count only pairs flagged on this metric (e.g. recovery_s)")
    acc = sub.add_parser("accuracy", help="recovery measured vs the breaker log (tests/run/scenarios/accuracy.toml)")
    acc.add_argument("-n", type=int, default=5)
    tot = sub.add_parser("totals", help="short runs: do timeline.csv's totals equal locust_stats.csv's?")
    tot.add_argument("-n", type=int, default=10)
    tot.add_argument("--scenario", type=Path, default=ROOT / "tests" / "run" / "scenarios" / "steady.toml")
    _history_parser(sub)
    again = sub.add_parser("rejudge", help="judge every run of a directory again with today's checks")
    again.add_argument("directory", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "stability")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "run":
        passes, failures = run_many(args.scenario, args.n, args.out, args.variant)
        print(f"{args.scenario.stem}: {passes} of {args.n} passed ({_load()})")
        return 0 if not failures else 1
    if args.command == "pairs":
        return 1 if pairs(args.directory) else 0
    if args.command == "accuracy":
        accuracy(args.n, args.out / "accuracy")
        return 0
    if args.command == "totals":
        return 1 if totals(args.n, args.out / "totals", args.scenario) else 0
    if args.command == "rejudge":
        passes, count = rejudge(args.directory)
        return 0 if passes == count else 1
    if args.command == "history":
        history(args.baseline, args.candidates, args.baseline_runs, args.scope)
    elif args.command == "detect":
        detect(args.baseline, args.candidate, args.metric)
    else:
        return _plan(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
