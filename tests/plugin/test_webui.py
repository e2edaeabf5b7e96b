"""The Faults tab and the manual fault page, against a real Locust process (web UI on 127.0.0.1) that runs
the smoke scenario on the sample stack; plus the scheduler's inject_now / heal_now as a pure state machine."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from brownout.faults.journal import FaultJournal
from brownout.faults.kinds import NetworkParams
from brownout.faults.scheduler import FaultScheduler
from brownout.scenario.schema import FaultSpec
from tests.helpers import wait_until
from tests.plugin.locust_ui import UI_WAIT_S, LocustUI, locust_ui


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocustUI]:
    tmp = tmp_path_factory.mktemp("webui")
    with locust_ui(tmp, extra=("--brownout-store", str(tmp / "runs.db"))) as started:
        yield started


def _template_args(html: str) -> dict[str, Any]:
    match = re.search(r"window\.templateArgs = (\{.*\})\s*$", html, re.MULTILINE)
    assert match, "no templateArgs in the index page"
    args: dict[str, Any] = json.loads(match.group(1))
    return args


def _faults_csv(run_dir: Path) -> dict[str, dict[str, str]]:
    with (run_dir / "faults.csv").open(newline="") as file:
        return {row["name"]: row for row in csv.DictReader(file)}


# --- the tab -------------------------------------------------------------------------------------------
def test_the_index_declares_the_faults_tab_the_links_and_the_start_forms_plan(ui: LocustUI) -> None:
    args = _template_args(requests.get(f"{ui.url}/", timeout=5).text)
    assert args["extended_tabs"] == [{"title": "Faults", "key": "faults"}]
    (table,) = args["extended_tables"]
    assert table["key"] == "faults"
    columns = [column["key"] for column in table["structure"]]
    assert columns[:2] == ["fault", "state"]  # not "name": Locust would sort the rows by it
    assert {"kind", "target", "planned", "started", "ended"} <= set(columns)
    links = {link["href"] for link in args["extended_csv_files"]}
    assert {"./brownout/faults", "./brownout/tests/latest/report.html", "./brownout/tests/latest/"} <= links
    options = args["extra_options"]
    assert options["brownout"]["choices"] == ["3 users (+3/s) for 12s, then 5 users (+5/s) for 23s; 35s in all"]
    assert options["brownout_fault_upstream_slow"]["default_value"] is True  # a ticked checkbox
    assert options["brownout_fault_upstream_slow"]["help_text"] == "network latency on upstream, +3s for 3s"
    assert options["brownout_fault_upstream_errors"]["default_value"] is True
    assert options["brownout_no_faults"]["default_value"] is False


def test_before_the_first_start_the_tab_shows_the_scenarios_plan_in_planned_order(ui: LocustUI) -> None:
    rows = ui.initial_rows  # read when Locust came up, before any test of this module
    assert list(rows) == ["upstream-slow", "upstream-errors"]
    assert rows["upstream-slow"]["state"] == "○ pending"
    assert rows["upstream-slow"]["planned"] == "+3s for 3s"  # scenarios/smoke.toml
    assert rows["upstream-errors"]["kind"] == "app upstream errors 0.5"


def test_the_page_says_which_run_store_the_reports_compare_to(ui: LocustUI) -> None:
    store = str(ui.out.parent / "runs.db")  # --brownout-store, as `brownout run --store` passes it
    assert ui.page_state()["store"] == store
    page = requests.get(f"{ui.url}/brownout/faults", timeout=5).text
    assert f"Each report places its test against the run store <code>{store}</code>" in page


def test_an_unknown_fault_name_is_refused_before_anything_starts(ui: LocustUI) -> None:
    ui.stop_run()
    before = ui.page_state()["tests"]
    for form in ({"brownout_faults": "upstream-slow,nosuch"}, {"brownout_fault_nosuch": "true"}):
        answer = requests.post(f"{ui.url}/swarm", data={"brownout_no_faults": "false", **form}, timeout=10).json()
        assert answer["success"] is False
        assert "nosuch" in answer["message"] and "nothing was started" in answer["message"]
        assert ui.state() in ("ready", "stopped")
    assert ui.page_state()["tests"] == before


def test_the_checkboxes_choose_the_faults(ui: LocustUI) -> None:
    ui.stop_run()
    form = {"brownout_no_faults": "false", "brownout_faults": "", "brownout_fault_upstream_slow": "false",
            "brownout_fault_upstream_errors": "true"}  # fmt: skip
    assert requests.post(f"{ui.url}/swarm", data=form, timeout=60).json()["success"]
    assert wait_until(lambda: ui.state() in ("spawning", "running"), UI_WAIT_S), "waiting for the test to start"
    assert set(ui.rows()) == {"upstream-errors"}
    ui.stop_run()


# --- who may post --------------------------------------------------------------------------------------
def test_posts_without_a_valid_token_or_from_another_site_are_refused(ui: LocustUI) -> None:
    inject = f"{ui.url}/brownout/faults/inject"
    form = {"kind": "network-down", "target": "notifier"}
    json_answer = {"Accept": "application/json"}
    missing = requests.post(inject, data=form, headers=json_answer, timeout=5)
    assert missing.status_code == 401 and "missing token" in missing.json()["error"]
    wrong = requests.post(inject, data={**form, "csrf_token": "guess"}, headers=json_answer, timeout=5)
    assert wrong.status_code == 403
    bad_bearer = requests.post(inject, data=form, headers={**json_answer, "Authorization": "Bearer guess"}, timeout=5)
    assert bad_bearer.status_code == 403
    token = ui.form_token()
    rebound = requests.post(inject, data={**form, "csrf_token": token}, headers={**json_answer, "Host": "evil.example"},
                            timeout=5)  # fmt: skip
    assert rebound.status_code == 403 and "loopback" in rebound.json()["error"]
    foreign = requests.post(inject, data={**form, "csrf_token": token},
                            headers={**json_answer, "Origin": "http://evil.example"}, timeout=5)  # fmt: skip
    assert foreign.status_code == 403 and "cross-site" in foreign.json()["error"]
    page = requests.get(f"{ui.url}/brownout/faults", headers={"Origin": "http://evil.example"}, timeout=5)
    assert page.status_code == 403 and token not in page.text  # a foreign page never reads the token


# --- by hand during a run ------------------------------------------------------------------------------
def test_a_fault_injected_and_healed_by_hand_shows_in_the_tab_and_the_journal(ui: LocustUI) -> None:
    out = ui.start_run(no_faults=False)
    token = ui.form_token()
    unknown = requests.post(
        f"{ui.url}/brownout/faults/inject", data={"kind": "network-down", "target": "nosuch", "csrf_token": token},
        headers={"Accept": "application/json"}, timeout=10,
    )  # fmt: skip
    assert unknown.status_code == 400 and "field 'target'" in unknown.json()["error"]
    by_browser = requests.post(
        f"{ui.url}/brownout/faults/inject", timeout=10,
        data={"kind": "network-latency", "target": "nosuch", "latency_ms": "250", "csrf_token": token},
    )  # fmt: skip
    assert by_browser.status_code == 400 and "field &#39;target&#39;" in by_browser.text
    assert 'value="nosuch"' in by_browser.text and 'value="250"' in by_browser.text  # the form kept as typed
    assert '<option value="network-latency" selected>' in by_browser.text
    assert ui.tab()["load now"]["state"].startswith("step 1 of 2")
    injected = requests.post(
        f"{ui.url}/brownout/faults/inject", data={"kind": "network-down", "target": "notifier", "csrf_token": token},
        allow_redirects=False, timeout=10,
    )  # fmt: skip
    assert injected.status_code == 303, injected.text
    name = "manual-1-notifier-down"
    assert wait_until(lambda: ui.rows().get(name, {}).get("state") == "● active", UI_WAIT_S), (
        f"waiting for {name} to be active"
    )
    row = ui.rows()[name]
    assert (row["target"], row["kind"], row["planned"]) == ("notifier", "network down", "by hand")
    assert row["started"].startswith("+") and row["ended"] == ""
    assert "heal now" in requests.get(f"{ui.url}/brownout/faults", timeout=5).text
    assert row["state"] == "● active"

    healed = requests.post(f"{ui.url}/brownout/faults/heal", data={"name": name, "csrf_token": token},
                           allow_redirects=False, timeout=10)  # fmt: skip
    assert healed.status_code == 303, healed.text
    assert wait_until(lambda: ui.rows()[name]["state"] == "✓ healed", UI_WAIT_S), f"waiting for {name} to be healed"
    again = requests.post(f"{ui.url}/brownout/faults/heal", data={"name": name, "csrf_token": token},
                          headers={"Accept": "application/json"}, timeout=10)  # fmt: skip
    assert again.status_code == 409

    # A script uses the Bearer token instead of the form's.
    script = {"Accept": "application/json", "Authorization": f"Bearer {ui.token}"}
    slow = requests.post(f"{ui.url}/brownout/faults/inject", headers=script, timeout=10,
                         json={"kind": "network-latency", "target": "notifier", "latency_ms": 50})  # fmt: skip
    assert slow.status_code == 200, slow.text
    assert slow.json()["name"] == "manual-2-notifier-latency"
    assert wait_until(lambda: ui.rows()["manual-2-notifier-latency"]["state"] == "● active", UI_WAIT_S), (
        "waiting for the latency toxic"
    )
    healing = requests.post(f"{ui.url}/brownout/faults/heal", headers=script, timeout=10,
                            json={"name": "manual-2-notifier-latency"})  # fmt: skip
    assert healing.status_code == 200, healing.text

    # The scenario's own schedule runs alongside: upstream-slow fires at +4 s.
    assert wait_until(lambda: ui.rows()["upstream-slow"]["state"] != "○ pending", UI_WAIT_S), (
        "waiting for upstream-slow to fire"
    )
    ui.stop_run()
    assert ui.rows()["upstream-errors"]["state"] in ("– not started: test stopped", "◼ cut short by stop")
    number = ui.page_state()["test"]["number"]
    ui.wait_written_up(number)
    journal = _faults_csv(out)
    assert journal[name]["outcome"] == "healed"
    assert journal[name]["actual_start"] and journal[name]["actual_end"] and not journal[name]["planned_end"]
    assert journal["manual-2-notifier-latency"]["outcome"] == "healed"
    assert json.loads(journal["manual-2-notifier-latency"]["params"])["attributes"]["latency"] == 50
    assert journal["upstream-slow"]["actual_start"]
    assert journal["upstream-errors"]["outcome"] in ("skipped", "healed", "aborted")


def test_a_partition_by_hand_cuts_its_edges_and_one_without_an_edge_is_refused(ui: LocustUI) -> None:
    out = ui.start_run(no_faults=True)
    script = {"Accept": "application/json", "Authorization": f"Bearer {ui.token}"}
    inject = f"{ui.url}/brownout/faults/inject"
    page = requests.get(f"{ui.url}/brownout/faults", timeout=5).text
    assert '<option value="partition-isolate"' in page and 'name="peer"' in page
    no_edge = requests.post(inject, headers=script, timeout=10,
                            json={"kind": "partition-between", "target": "upstream", "peer": "notifier"})  # fmt: skip
    assert no_edge.status_code == 400 and "no proxied edge between 'upstream' and 'notifier'" in no_edge.json()["error"]
    cut = requests.post(inject, headers=script, timeout=10,
                        json={"kind": "partition-isolate", "target": "gateway", "direction": "upstream"})  # fmt: skip
    assert cut.status_code == 200, cut.text
    name = cut.json()["name"]
    assert wait_until(lambda: ui.rows().get(name, {}).get("state") == "● active", UI_WAIT_S), f"waiting for {name}"
    assert ui.rows()[name]["kind"] == "partition upstream (2 edges)"
    healed = requests.post(f"{ui.url}/brownout/faults/heal", headers=script, timeout=10, json={"name": name})
    assert healed.status_code == 200, healed.text
    ui.stop_run()
    ui.wait_written_up(ui.page_state()["test"]["number"])
    row = _faults_csv(out)[name]
    assert row["outcome"] == "healed" and row["kind"] == "partition"
    edges = json.loads(row["evidence"])["edges"]
    assert [(edge["from"], edge["to"]) for edge in edges] == [("gateway", "upstream"), ("gateway", "notifier")]


def test_the_no_faults_option_from_the_start_form_is_honoured(ui: LocustUI) -> None:
    ui.start_run(no_faults=True)
    assert ui.rows() == {}
    token = ui.form_token()
    # Manual faults still work in a run without scheduled ones.
    answer = requests.post(
        f"{ui.url}/brownout/faults/inject",
        data={"kind": "app-errors", "target": "gateway", "error_rate": "0.25", "csrf_token": token},
        headers={"Accept": "application/json"}, timeout=10,
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert answer.json()["name"] == "manual-1-gateway-errors"
    assert wait_until(lambda: ui.rows().get("manual-1-gateway-errors", {}).get("state") == "● active", UI_WAIT_S), (
        "waiting for the app fault"
    )
    ui.stop_run()
    assert set(ui.rows()) == {"manual-1-gateway-errors"}
    assert ui.rows()["manual-1-gateway-errors"]["state"] == "◼ healed at stop"  # by the stop, not by hand


def test_the_start_form_can_name_some_of_the_scenarios_faults(ui: LocustUI) -> None:
    ui.start_run(no_faults=False, faults="upstream-errors")
    assert set(ui.rows()) == {"upstream-errors"}
    ui.stop_run()


# --- the scheduler's manual faults, as a pure state machine -------------------------------------------
class _Driver:
    def __init__(self, fail_inject: bool = False) -> None:
        self.calls: list[str] = []
        self.fail_inject = fail_inject

    def inject(self) -> None:
        self.calls.append("inject")
        if self.fail_inject:
            raise RuntimeError("proxy not found")

    def heal(self) -> None:
        self.calls.append("heal")


def _spec(name: str, target: str, at_s: float = 0.0, duration_s: float = 5.0) -> FaultSpec:
    return FaultSpec(index=0, name=name, target=target, kind="network", params=NetworkParams(proxy=target, down=True),
                     duration_s=duration_s, at_s=at_s)  # fmt: skip


def test_manual_faults_join_the_schedule_without_aborting_it(tmp_path: Path) -> None:
    now = [100.0]
    planned = _Driver()
    scheduler = FaultScheduler([_spec("planned", "upstream", at_s=10.0)], {"planned": planned},
                               journal=FaultJournal(tmp_path), clock=lambda: now[0], wall_clock=lambda: now[0],
                               inline=True)  # fmt: skip
    with pytest.raises(RuntimeError):
        scheduler.inject_now(_spec("manual-1-x", "notifier"), _Driver())  # not started yet
    scheduler.start()
    broken = _Driver(fail_inject=True)
    scheduler.inject_now(_spec("manual-1-bad", "notifier"), broken)
    assert broken.calls == ["inject", "heal"]  # whatever part took effect is undone
    manual = _Driver()
    scheduler.inject_now(_spec("manual-2-down", "notifier"), manual)
    with pytest.raises(ValueError, match="already has a fault"):
        scheduler.inject_now(_spec("manual-3-down", "notifier"), _Driver())
    with pytest.raises(ValueError, match="already a fault named"):
        scheduler.inject_now(_spec("manual-2-down", "gateway"), _Driver())
    now[0] += 10.0
    scheduler.run_due()
    assert planned.calls == ["inject"]  # the failed manual fault did not abort the schedule
    scheduler.heal_now("manual-2-down")
    with pytest.raises(RuntimeError, match="not active"):
        scheduler.heal_now("manual-2-down")
    with pytest.raises(LookupError):
        scheduler.heal_now("nosuch")
    scheduler.heal_all()
    journal = _faults_csv(tmp_path)
    assert journal["manual-1-bad"]["outcome"] == "inject-failed"
    assert journal["manual-2-down"]["outcome"] == "healed" and journal["manual-2-down"]["planned_end"] == ""
    assert journal["planned"]["outcome"] == "aborted"
    assert scheduler.error is None
