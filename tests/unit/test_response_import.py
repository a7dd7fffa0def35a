"""Reading import CSVs: generic and Delighted layouts, and every way a row can be wrong."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nps_engine.response_import import (
    ImportedResponse,
    ImportFileError,
    ResponseCsv,
    RowError,
    mask_email,
    parse_timestamp,
)

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


def read(text: str, timezone: ZoneInfo = PARIS) -> list[ImportedResponse | RowError]:
    return list(ResponseCsv(io.StringIO(text, newline=""), timezone=timezone, now=NOW).rows())


def good(text: str) -> list[ImportedResponse]:
    rows = read(text)
    assert all(isinstance(row, ImportedResponse) for row in rows), rows
    return [row for row in rows if isinstance(row, ImportedResponse)]


def errors(text: str) -> list[str]:
    return [str(row) for row in read(text) if isinstance(row, RowError)]


def test_generic_row_becomes_a_typed_answer() -> None:
    (row,) = good(
        "email,score,comment,responded_at,order\n"
        "  Jane@Example.COM ,9,Great,2025-03-14T09:30:00+01:00,#1001\n"
    )
    assert row == ImportedResponse(
        line=2,
        import_key=row.import_key,
        email="jane@example.com",
        score=9,
        responded_at=datetime(2025, 3, 14, 8, 30, tzinfo=UTC),
        comment="Great",
        order="#1001",
    )
    assert row.import_key.startswith("csv:")


def test_optional_columns_can_be_absent_or_blank() -> None:
    (row,) = good("email,score,responded_at\na@example.com,0,2025-01-01T00:00:00Z\n")
    assert (row.score, row.comment, row.order) == (0, None, None)


@pytest.mark.parametrize(
    "header",
    [
        "email,score,responded_at",
        "EMAIL, Score ,Responded At",
        "Email,SCORE,responded-at",
        "  e-mail  ,score,responded_at".replace("e-mail", "Email"),
    ],
)
def test_header_names_match_whatever_their_case_and_spacing(header: str) -> None:
    (row,) = good(f"{header}\na@example.com,7,2025-01-01T10:00:00Z\n")
    assert row.score == 7


def test_utf8_byte_order_mark_is_ignored() -> None:
    (row,) = good("\ufeffemail,score,responded_at\na@example.com,10,2025-01-01T10:00:00Z\n")
    assert row.email == "a@example.com"


def test_semicolon_delimited_file_is_recognised() -> None:
    (row,) = good(
        'email;score;comment;responded_at\na@example.com;8;"Bien, mais; cher";2025-01-01 10:00:00\n'
    )
    assert (row.score, row.comment) == (8, "Bien, mais; cher")


def test_delighted_export_uses_response_id_as_its_key() -> None:
    text = (
        "Response ID,Created At,Person Email,Name,Score,Comment\n"
        "4801,2025-06-01 10:00:00,a@example.com,Ann,9,Nice\n"
    )
    reader = ResponseCsv(io.StringIO(text), timezone=PARIS, now=NOW)
    (row,) = list(reader.rows())
    assert reader.is_delighted
    assert isinstance(row, ImportedResponse)
    assert row.import_key == "delighted:4801"
    # naive Delighted times are the store's local time (Paris is UTC+2 in June)
    assert row.responded_at == datetime(2025, 6, 1, 8, 0, tzinfo=UTC)


def test_delighted_epoch_seconds_and_response_timestamp_header() -> None:
    (row,) = good("Response ID,Response Timestamp,Email,Score\n7,1735725600,a@example.com,6\n")
    assert row.responded_at == datetime(2025, 1, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2025-01-15T10:00:00Z", datetime(2025, 1, 15, 10, 0, tzinfo=UTC)),
        ("2025-01-15T10:00:00+01:00", datetime(2025, 1, 15, 9, 0, tzinfo=UTC)),
        ("2025-01-15 10:00:00", datetime(2025, 1, 15, 9, 0, tzinfo=UTC)),  # Paris winter
        ("2025-07-15 10:00:00", datetime(2025, 7, 15, 8, 0, tzinfo=UTC)),  # Paris summer
        ("2025-01-15", datetime(2025, 1, 14, 23, 0, tzinfo=UTC)),
        ("2025-01-15 10:00:00 UTC", datetime(2025, 1, 15, 10, 0, tzinfo=UTC)),
        ("2025-01-15 10:00:00 -0700", datetime(2025, 1, 15, 17, 0, tzinfo=UTC)),
        ("2025-01-15T10:00:00.250Z", datetime(2025, 1, 15, 10, 0, 0, 250000, tzinfo=UTC)),
        ("1736935200", datetime(2025, 1, 15, 10, 0, tzinfo=UTC)),
        ("1736935200000", datetime(2025, 1, 15, 10, 0, tzinfo=UTC)),
        ("15/01/2025", datetime(2025, 1, 14, 23, 0, tzinfo=UTC)),
        ("yesterday", None),
        ("2025-13-01", None),
    ],
)
def test_timestamps(raw: str, expected: datetime | None) -> None:
    assert parse_timestamp(raw, PARIS) == expected


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("a@example.com,11,2025-01-01", "line 2: score: must be an integer from 0 to 10, got '11'"),
        ("a@example.com,-1,2025-01-01", "line 2: score: must be an integer from 0 to 10, got '-1'"),
        (
            "a@example.com,7.5,2025-01-01",
            "line 2: score: must be an integer from 0 to 10, got '7.5'",
        ),
        ("a@example.com,,2025-01-01", "line 2: score: must be an integer from 0 to 10, got ''"),
        (
            "a@example.com,ten,2025-01-01",
            "line 2: score: must be an integer from 0 to 10, got 'ten'",
        ),
        (",9,2025-01-01", "line 2: email: missing email address"),
        ("jane.example.com,9,2025-01-01", "line 2: email: not a valid email address ('j***')"),
        (
            "jane@localhost,9,2025-01-01",
            "line 2: email: not a valid email address ('j***@localhost')",
        ),
        ("a@example.com,9,", "line 2: responded_at: missing date"),
        ("a@example.com,9,next week", "line 2: responded_at: not a date, got 'next week'"),
        ("a@example.com,9,2027-01-01T00:00:00Z", "line 2: responded_at: is in the future"),
    ],
)
def test_bad_row_is_reported_with_line_and_column(row: str, message: str) -> None:
    (error,) = errors(f"email,score,responded_at\n{row}\n")
    assert error.startswith(message)


def test_invalid_email_is_masked_in_the_error() -> None:
    (error,) = errors("email,score,responded_at\njane.doe@@example.com,9,2025-01-01\n")
    assert "jane.doe" not in error


def test_good_rows_around_bad_ones_are_kept() -> None:
    rows = read(
        "email,score,responded_at\n"
        "a@example.com,9,2025-01-01\n"
        "b@example.com,11,2025-01-01\n"
        "c@example.com,3,2025-01-01\n"
    )
    assert [type(row).__name__ for row in rows] == [
        "ImportedResponse",
        "RowError",
        "ImportedResponse",
    ]
    assert [row.line for row in rows] == [2, 3, 4]


def test_line_numbers_count_physical_lines_of_quoted_comments() -> None:
    text = (
        "email,score,comment,responded_at\r\n"
        'a@example.com,9,"one, two\r\nthree\r\nfour",2025-01-01\r\n'  # lines 2-4
        "\r\n"  # line 5: blank, skipped
        'b@example.com,11,"x",2025-01-01\r\n'  # line 6
        'c@example.com,5,"a\nb",2025-01-01\n'  # lines 7-8
        "d@example.com,99,,2025-01-01\n"  # line 9
    )
    rows = read(text)
    assert [row.line for row in rows] == [2, 6, 7, 9]
    assert [str(row) for row in rows if isinstance(row, RowError)] == [
        "line 6: score: must be an integer from 0 to 10, got '11'",
        "line 9: score: must be an integer from 0 to 10, got '99'",
    ]
    first = rows[0]
    assert isinstance(first, ImportedResponse)
    assert first.comment == "one, two\nthree\nfour"


def test_error_names_the_column_as_the_file_spells_it() -> None:
    (error,) = errors("Response ID,Created At,Email,Score\n1,N/A,a@example.com,9\n")
    assert error.startswith("line 2: Created At: not a date, got 'N/A'")


@pytest.mark.parametrize(
    ("header", "missing"),
    [
        ("email,comment", "missing columns: score, responded_at"),
        ("Response ID,Score,Comment", "missing columns: email, responded_at"),
        ("email,score,date", "missing column: responded_at"),
    ],
)
def test_missing_columns_are_one_error_naming_them(header: str, missing: str) -> None:
    with pytest.raises(ImportFileError, match=missing):
        ResponseCsv(io.StringIO(f"{header}\nx,y,z\n"), timezone=PARIS, now=NOW)


def test_empty_file_is_refused() -> None:
    with pytest.raises(ImportFileError, match="empty"):
        ResponseCsv(io.StringIO(""), timezone=PARIS, now=NOW)


def test_same_answer_gets_the_same_key_and_a_different_one_another() -> None:
    rows = good(
        "email,score,responded_at,order\n"
        "a@example.com,9,2025-01-01T10:00:00Z,#1\n"
        "A@Example.com ,9,2025-01-01T11:00:00+01:00,#1\n"
        "a@example.com,8,2025-01-01T10:00:00Z,#1\n"
        "a@example.com,9,2025-01-01T10:00:00Z,#2\n"
    )
    keys = [row.import_key for row in rows]
    assert keys[0] == keys[1]
    assert len(set(keys)) == 3


def test_nul_bytes_in_comments_are_dropped() -> None:
    (row,) = good("email,score,comment,responded_at\na@example.com,9,ok\x00,2025-01-01\n")
    assert row.comment == "ok"


@pytest.mark.parametrize(
    ("email", "masked"),
    [("jane@example.com", "j***@example.com"), ("x", "x***"), ("", "***")],
)
def test_mask_email(email: str, masked: str) -> None:
    assert mask_email(email) == masked


@given(st.lists(st.sampled_from(["good", "bad", "multiline", "blank"]), max_size=30))
def test_every_data_row_is_either_kept_or_reported_at_its_own_line(kinds: list[str]) -> None:
    lines = ["email,score,comment,responded_at"]
    expected = []
    for kind in kinds:
        start = sum(line.count("\n") + 1 for line in lines) + 1
        if kind == "good":
            lines.append("a@example.com,9,,2025-01-01")
        elif kind == "bad":
            lines.append("a@example.com,12,,2025-01-01")
        elif kind == "multiline":
            lines.append('a@example.com,3,"x\ny",2025-01-01')
        else:
            lines.append("")
        if kind != "blank":
            expected.append((start, kind == "bad"))
    rows = read("\n".join(lines) + "\n")
    assert [(row.line, isinstance(row, RowError)) for row in rows] == expected


@pytest.mark.parametrize(
    "cell",
    ["14/07/2025 09:30", "14.07.2025 09:30", "14-07-2025 09:30", "14/07/2025 09:30:00"],
)
def test_european_spreadsheet_dates_are_read_day_first(cell: str) -> None:
    (row,) = good(f"email,score,responded_at\na@example.com,9,{cell}\n")
    assert row.responded_at == datetime(2025, 7, 14, 7, 30, tzinfo=UTC)  # Paris summer


def test_the_first_unambiguous_date_decides_the_order_of_the_whole_file() -> None:
    text = "email,score,responded_at\na@example.com,9,03/04/2025\nb@example.com,9,07/14/2025\n"
    reader = ResponseCsv(io.StringIO(text), timezone=PARIS, now=NOW)
    first, second = reader.rows()
    assert reader.date_order == "month-first"
    assert "07/14/2025" in reader.date_order_reason
    assert isinstance(first, ImportedResponse)
    assert first.responded_at.date() == datetime(2025, 3, 3, tzinfo=UTC).date()  # March 4, Paris
    assert isinstance(second, ImportedResponse)


def test_a_file_of_ambiguous_dates_asks_for_the_date_format() -> None:
    text = "email,score,responded_at\na@example.com,9,03/04/2025\n"
    (error,) = errors(text)
    assert "--date-format day-first" in str(error)
    reader = ResponseCsv(io.StringIO(text), timezone=PARIS, now=NOW, date_order="day-first")
    (row,) = reader.rows()
    assert isinstance(row, ImportedResponse)
    assert row.responded_at == datetime(2025, 4, 2, 22, 0, tzinfo=UTC)  # 3 April, Paris


@pytest.mark.parametrize(("cell", "score"), [("10.0", 10), ("10,0", 10), ("7.00", 7)])
def test_spreadsheet_whole_number_scores(cell: str, score: int) -> None:
    (row,) = good(f'email;score;responded_at\na@example.com;"{cell}";2025-01-01\n')
    assert row.score == score


def test_a_fractional_score_is_still_refused() -> None:
    (error,) = errors("email;score;responded_at\na@example.com;7,5;2025-01-01\n")
    assert "must be an integer from 0 to 10, got '7,5'" in str(error)


def test_delighted_notes_tags_and_properties_are_kept_names_are_not() -> None:
    text = (
        "Response ID,Person ID,Name,Email,Score,Comment,Created At,Notes,Tags,Plan\n"
        "r1,p1,Jane Doe,jane@example.com,9,Great,2025-01-01 10:00:00,called back,vip,Pro\n"
    )
    (row,) = good(text)
    assert row.properties == {"Notes": "called back", "Tags": "vip", "Plan": "Pro"}


def test_a_day_first_date_deep_in_a_long_iso_file_still_decides_the_order() -> None:
    # Past the first MiB of text, where the reader's quick search for such dates reads in blocks.
    iso_rows = "".join(f"c{i}@example.com,9,2025-01-01T10:00:00Z\n" for i in range(40_000))
    late = "a@example.com,9,14/07/2025\nb@example.com,9,03/04/2025\n"
    text = f"email,score,responded_at\n{iso_rows}{late}"
    reader = ResponseCsv(io.StringIO(text, newline=""), timezone=PARIS, now=NOW)
    *_, third = reader.rows()
    assert reader.date_order == "day-first"
    assert isinstance(third, ImportedResponse)
    assert third.responded_at == datetime(2025, 4, 2, 22, 0, tzinfo=UTC)  # 3 April, Paris


CELLS = {
    "email": ["a@example.com", " A@Example.COM ", "bad", "", "a@b"],
    "score": ["0", "9", "10", " 7 ", "07", "10.0", "11", "", "x"],
    "date": [
        "2025-01-01T10:00:00Z", "2025-01-01 10:00:00", "2025-03-30T02:30:00", "2025-01-01 UTC",
        "2025-01-01T10:00:00.5+05:30", "1999-12-31", "2026-07-01T12:00:01Z", "2025-13-01", "",
        "14/07/2025", "1735725600", "2025-01-01 10:00:00Z", "2025-W01-3T10:00:00Z",
        "2025-01-01T10:00:00.000Z", "2025-01-01T10:00Z",
    ],
    "comment": ["", " ok ", "a\r\nb", "x\x00y"],
    "order": ["", "#1001", " 1001 "],
}  # fmt: skip


@given(
    *(st.sampled_from(values) for values in CELLS.values()),
    st.sampled_from(["", "r1"]),
    st.sampled_from(["", " vip "]),
    st.integers(min_value=0, max_value=2),
)
def test_the_quick_reading_of_a_row_agrees_with_the_full_one(
    email: str, score: str, date: str, comment: str, order: str, ref: str, tag: str, cut: int
) -> None:
    header = "Response ID,Email,Score,Created At,Comment,Order,Tags"
    reader = ResponseCsv(io.StringIO(header + "\n"), timezone=PARIS, now=NOW)
    cells = [ref, email, score, date, comment, order, tag][: 7 - cut]
    quick = reader._quick_reader()(2, cells)
    assert quick is None or quick == reader._parse(2, cells)


def test_a_day_first_date_with_dashes_deep_in_a_long_iso_file_decides_too() -> None:
    iso_rows = "".join(f"c{i}@example.com,9,2025-01-01T10:00:00Z\n" for i in range(40_000))
    text = f"email,score,responded_at\n{iso_rows}a@example.com,9,14-07-2025\n"
    reader = ResponseCsv(io.StringIO(text, newline=""), timezone=PARIS, now=NOW)
    assert reader.date_order == "day-first"
