"""Drives a stack from inside a gevent-monkey-patched process (like a Locust process) and reports JSON.

python tests/stack/gevent_driver.py STACK_FILE RUN_DIR
"""

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402

import requests  # noqa: E402

from brownout.stack import Stack  # noqa: E402


def _answers(http: requests.Session, url: str) -> bool:
    try:
        return http.get(url + "/info", timeout=0.5).status_code == 200
    except requests.RequestException:
        return False


def main() -> None:
    report: dict[str, Any] = {}
    http = requests.Session()
    http.trust_env = False
    with Stack.start(sys.argv[1], sys.argv[2], ephemeral_ports=True) as stack:
        auth = {"Authorization": f"Bearer {stack.token}"}

        def act(path: str) -> dict[str, Any]:
            answer = http.post(stack.control_url + path, headers=auth, timeout=30)
            return {"code": answer.status_code, **answer.json()}

        components = http.get(stack.control_url + "/components", headers=auth, timeout=10).json()[
            "components"
        ]
        report["up"] = [(c["name"], c["ready"]) for c in components]
        report["pids"] = [c["pid"] for c in components]
        report["freeze"] = act("/components/a/freeze")
        report["answers_frozen"] = _answers(http, stack.url("a"))
        report["thaw"] = act("/components/a/thaw")
        report["answers_thawed"] = _answers(http, stack.url("a"))
        report["kill"] = act("/components/b/kill")
        report["start"] = act("/components/b/start")
        report["restart"] = act("/components/a/restart")
        report["pids"] += [report["start"]["pid"], report["restart"]["pid"]]
        report["unauthorized"] = http.get(stack.control_url + "/components", timeout=5).status_code
    report["after"] = [s.state for s in stack.status()]
    print(json.dumps(report))


if __name__ == "__main__":
    main()
