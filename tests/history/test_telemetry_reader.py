"""telemetry.csv: labels cells parsed once per distinct cell, errors still named by line and column."""

import pytest

from brownout.errors import InputError
from brownout.history import Telemetry, iter_telemetry
from brownout.history.readers import iter_telemetry_samples

HEADER = "t,source,metric,labels,value\n"


def test_equal_labels_in_any_order_form_one_series_and_rows_own_their_labels(tmp_path):
    (tmp_path / "telemetry.csv").write_text(
        HEADER
        + '1.0,gateway,calls,"a=1,b=2",5\n'
        + '2.0,gateway,calls,"b=2,a=1",7\n'
        + "3.0,gateway,calls,a=1,NaN\n"
        + '0.5,gateway,calls,"a=1,b=2",4\n'
    )
    telemetry = Telemetry.from_samples(iter_telemetry_samples(tmp_path))
    assert [(s.labels, s.times) for s in telemetry.series] == [
        ({"a": "1", "b": "2"}, [0.5, 1.0, 2.0]),
        ({"a": "1"}, [3.0]),
    ]
    rows = list(iter_telemetry(tmp_path))
    from_rows = Telemetry.from_rows(rows).series
    assert [(s.labels, s.times) for s in from_rows] == [(s.labels, s.times) for s in telemetry.series]
    assert from_rows[0].values == telemetry.series[0].values == [4.0, 5.0, 7.0]
    rows[0].labels["a"] = "changed"
    assert rows[3].labels == {"a": "1", "b": "2"}


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("x,gateway,calls,a=1,5", "line 3: column 't': 'x' is not a number"),
        ("inf,gateway,calls,a=1,5", "line 3: column 't': 'inf' is not a finite number"),
        (",gateway,calls,a=1,5", "line 3: column 't': is empty"),
        ("2.0,gateway,calls,a=1,five", "line 3: column 'value': 'five' is not a number"),
        ("2.0,gateway,calls,a,5", "line 3: column 'labels': 'a' is not 'name=value'"),
    ],
)
def test_a_bad_row_after_good_rows_with_the_same_labels_is_named(tmp_path, row, message):
    (tmp_path / "telemetry.csv").write_text(HEADER + "1.0,gateway,calls,a=1,5\n" + row + "\n")
    with pytest.raises(InputError, match=message):
        list(iter_telemetry(tmp_path))
