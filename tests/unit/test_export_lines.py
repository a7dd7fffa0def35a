"""CSV and JSON Lines are put together from pieces (``response_export.csv_chunks`` and
``jsonl_chunks``) rather than by handing each answer to the csv module or encoding a dict per
answer: each line must still be exactly what ``csv.writer`` and ``json.dumps`` write, for any
text a customer or a store can put in a cell (quotes, delimiters, line breaks, formulas)."""

from __future__ import annotations

import csv
import io
import json

from hypothesis import given
from hypothesis import strategies as st

from nps_engine.response_export import COLUMNS, _csv_cells, _text, csv_chunks, jsonl_chunks
from nps_engine.response_filters import mask_email

text = st.one_of(st.none(), st.text(max_size=30))
number = st.one_of(st.none(), st.integers(min_value=-(2**63), max_value=2**63))
names = st.tuples(*[st.text(min_size=1, max_size=12)] * 2)
row = st.tuples(
    st.integers(min_value=1, max_value=2**63), st.text(max_size=25), text,
    st.integers(min_value=0, max_value=10), text, text, text, number, text, text, text,
    names, st.tuples(st.text(max_size=10)), st.tuples(), number, text,
)  # fmt: skip


@given(st.lists(row, max_size=20), st.booleans())
def test_each_line_is_what_json_dumps_writes(rows: list[tuple[object, ...]], masked: bool) -> None:
    written = "".join(jsonl_chunks(rows, masked=masked, size=200))
    expected = []
    for values in rows:
        answer = dict(zip(COLUMNS, values, strict=True))
        if masked:
            answer["customer_name"] = None
            answer["email"] = mask_email(values[9])  # type: ignore[arg-type]
        expected.append(json.dumps(answer, ensure_ascii=False) + "\n")
    assert written == "".join(expected)
    for line, values in zip(written.split("\n")[:-1], rows, strict=True):
        assert json.loads(line)["comment"] == values[5]


def test_a_comment_with_quotes_breaks_and_accents_stays_one_line() -> None:
    comment = 'Colis "abîmé"\nline two\t\\ \u2028 done'
    values = (
        1, "2026-03-01T09:30:00+00:00", "transactional", 3, "detractor", comment, "fr", 7,
        "Zoé O'Neil", "z@example.com", "#1001", ("returned",), (), (), None, None,
    )  # fmt: skip
    line, end = "".join(jsonl_chunks([values])).split("\n")  # (U+2028 is no line break)
    assert end == ""
    assert json.loads(line)["comment"] == comment
    assert "abîmé" in line  # not escaped to \\u00ee: UTF-8 as Excel and jq read it


@given(st.lists(row, max_size=20), st.booleans(), st.sampled_from([",", ";"]))
def test_each_csv_line_is_what_the_csv_module_writes(
    rows: list[tuple[object, ...]], masked: bool, delimiter: str
) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for values in rows:
        cells = _csv_cells(values)
        if masked:
            cells[8], cells[9] = None, _text(mask_email(values[9]))  # type: ignore[arg-type]
        writer.writerow(cells)
    written = "".join(csv_chunks(rows, delimiter=delimiter, masked=masked, size=200))
    assert written == "\ufeff" + buffer.getvalue()
    parsed = list(csv.reader(io.StringIO(written[1:], newline=""), delimiter=delimiter))
    comments = [_text(values[5]) or "" for values in rows]  # type: ignore[arg-type]
    assert [line[5] for line in parsed[1:]] == comments  # quoted line breaks read back whole
