"""A scenario's network fault may use brownout proxy's own toxics, with text and table attributes."""

from __future__ import annotations

import pytest

from brownout.errors import InputError
from brownout.faults.kinds import NetworkParams
from brownout.scenario.schema import parse_scenario
from tests.scenario.test_parsing import LOAD

FAULT = """
[[faults]]
name = "upstream-503"
kind = "network"
target = "upstream"
toxic = "http_error"
toxicity = 0.3
at = "10s"
duration = "5s"
[faults.attributes]
path_prefix = "/v1/complete"
status = 503
body = "busy"
headers = { Retry-After = "1" }
"""


def test_an_http_error_fault_reads_its_attributes_and_goes_upstream() -> None:
    params = parse_scenario(LOAD + FAULT, "f.toml").faults[0].params
    assert isinstance(params, NetworkParams)
    assert params.toxic == "http_error" and params.stream == "upstream" and params.toxicity == 0.3
    assert dict(params.attributes) == {
        "path_prefix": "/v1/complete",
        "status": 503,
        "body": "busy",
        "headers": {"Retry-After": "1"},
    }


def test_an_attribute_of_another_toxic_is_refused() -> None:
    with pytest.raises(InputError, match="probability"):
        parse_scenario(LOAD + FAULT.replace("status = 503", "probability = 0.5"), "f.toml")
