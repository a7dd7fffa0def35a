"""Writing imported answers: linked to customers and orders, never duplicated, on both backends."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from nps_engine.records import SurveyKind
from nps_engine.response_import import ImportedResponse, ResponseCsv
from nps_engine.store import response_imports
from nps_engine.store.database import Database
from nps_engine.store.models import Customer, Order, Response
from nps_engine.store.response_imports import import_responses

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
CSV = (
    "email,score,comment,responded_at,order\n"
    "  John@Example.COM ,9,Great,2025-03-01T10:00:00Z,#1001\n"
    "jane@example.com,3,Late,2025-04-01T10:00:00Z,\n"
    "nobody@example.com,7,,2025-05-01T10:00:00Z,555\n"
)


def rows(text: str = CSV) -> list[ImportedResponse]:
    reader = ResponseCsv(io.StringIO(text), timezone=ZoneInfo("UTC"), now=NOW)
    return [row for row in reader.rows() if isinstance(row, ImportedResponse)]


def seed(database: Database, store: str) -> None:
    with database.session() as session:
        session.add_all(
            [
                Customer(store=store, id=11, email="john@example.com"),
                Customer(store=store, id=12, email="jane@example.com"),
                Order(
                    store=store,
                    id=555,
                    name="#1002",
                    customer_id=12,
                    email="jane@example.com",
                    created_at=NOW,
                    updated_at=NOW,
                    total_price=Decimal("10"),
                ),
                Order(
                    store=store,
                    id=901,
                    name="#1001",
                    customer_id=11,
                    email="john@example.com",
                    created_at=NOW,
                    updated_at=NOW,
                ),
            ]
        )


def stored(database: Database, store: str) -> list[Response]:
    with database.session() as session:
        return list(
            session.scalars(
                select(Response).where(Response.store == store).order_by(Response.responded_at)
            )
        )


def test_answers_are_stored_and_linked_by_normalised_email(
    database: Database, store_id: str
) -> None:
    seed(database, store_id)
    counts = import_responses(database, store_id, rows(), now=NOW)
    assert (counts.imported, counts.duplicates, counts.matched, counts.unmatched) == (3, 0, 3, 0)
    assert counts.orders_matched == 2
    john, jane, nobody = stored(database, store_id)
    assert (john.customer_id, john.email, john.order_id, john.score) == (
        11,
        "john@example.com",
        901,
        9,
    )
    assert (john.source, john.kind, john.comment) == ("import", "transactional", "Great")
    assert john.responded_at == datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
    assert (jane.customer_id, jane.order_id) == (12, None)
    # no customer has this email: the numeric order id still links the order (and its customer)
    assert (nobody.order_id, nobody.customer_id) == (555, 12)


def test_reimport_does_not_duplicate(database: Database, store_id: str) -> None:
    import_responses(database, store_id, rows(), now=NOW)
    again = import_responses(database, store_id, rows(), now=NOW)
    assert (again.imported, again.duplicates) == (0, 3)
    assert len(stored(database, store_id)) == 3


def test_same_answer_twice_in_one_file_is_stored_once(database: Database, store_id: str) -> None:
    text = "email,score,responded_at\n" + "a@example.com,9,2025-01-01T00:00:00Z\n" * 3
    counts = import_responses(database, store_id, rows(text), now=NOW)
    assert (counts.imported, counts.duplicates, counts.unmatched) == (1, 2, 1)


def test_batches_larger_files_without_losing_rows(database: Database, store_id: str) -> None:
    text = "email,score,responded_at\n" + "".join(
        f"c{i}@example.com,{i % 11},2025-01-01T00:00:00Z\n" for i in range(250)
    )
    counts = import_responses(database, store_id, rows(text), now=NOW, batch_size=64)
    assert counts.imported == 250
    assert len(stored(database, store_id)) == 250


def test_counts_only_the_new_rows_of_a_batch_that_also_holds_stored_ones(
    database: Database, store_id: str
) -> None:
    seed(database, store_id)
    first, second, third = CSV.splitlines()[1:]
    header = CSV.splitlines()[0]
    import_responses(database, store_id, rows(f"{header}\n{second}\n"), now=NOW)
    # The first batch (all new) stops the look-up of stored keys, so the second batch meets the
    # stored answer in the insert itself, beside a new one: only what went in is counted.
    again = "jane@example.com,5,Again,2025-06-01T10:00:00Z,#1002"
    text = f"{header}\n{first}\n{third}\n{second}\n{again}\n"
    counts = import_responses(database, store_id, rows(text), now=NOW, batch_size=2)
    assert (counts.imported, counts.duplicates) == (3, 1)
    assert (counts.matched, counts.unmatched, counts.orders_matched) == (3, 0, 3)
    assert len(stored(database, store_id)) == 4


def test_an_email_seen_in_an_earlier_batch_links_the_same_way_in_a_later_one(
    database: Database, store_id: str
) -> None:
    seed(database, store_id)
    text = (
        "email,score,responded_at,order\n"
        "john@example.com,9,2025-03-01T10:00:00Z,\n"
        "nobody@example.com,7,2025-05-01T10:00:00Z,\n"
        "john@example.com,8,2025-06-01T10:00:00Z,\n"
        "nobody@example.com,6,2025-06-01T10:00:00Z,555\n"
    )
    counts = import_responses(database, store_id, rows(text), now=NOW, batch_size=2)
    assert (counts.imported, counts.matched, counts.unmatched) == (4, 3, 1)
    linked = [(r.email, r.score, r.customer_id) for r in stored(database, store_id)]
    assert sorted(linked) == [
        ("john@example.com", 8, 11),
        ("john@example.com", 9, 11),
        # no customer with this email: the order's customer fills the gap, even remembered
        ("nobody@example.com", 6, 12),
        ("nobody@example.com", 7, None),
    ]


def test_delighted_reimport_keys_on_response_id(database: Database, store_id: str) -> None:
    first = "Response ID,Created At,Email,Score,Comment\n42,2025-01-01 10:00:00,a@example.com,9,\n"
    # Delighted lets people edit their comment: same response id, not a new answer
    edited = (
        "Response ID,Created At,Email,Score,Comment\n42,2025-01-01 10:00:00,a@example.com,9,x\n"
    )
    import_responses(database, store_id, rows(first), now=NOW)
    counts = import_responses(database, store_id, rows(edited), now=NOW)
    assert (counts.imported, counts.duplicates) == (0, 1)


def test_relationship_kind_is_kept_apart(database: Database, store_id: str) -> None:
    import_responses(database, store_id, rows(), now=NOW, kind=SurveyKind.RELATIONSHIP)
    assert {response.kind for response in stored(database, store_id)} == {"relationship"}


def test_dry_run_counts_but_writes_nothing(database: Database, store_id: str) -> None:
    seed(database, store_id)
    counts = import_responses(database, store_id, rows(), now=NOW, dry_run=True)
    assert (counts.imported, counts.matched, counts.orders_matched) == (3, 3, 2)
    assert stored(database, store_id) == []


def test_stores_do_not_see_each_others_customers(database: Database, store_id: str) -> None:
    seed(database, store_id)
    other = store_id + "-b"
    counts = import_responses(database, other, rows(), now=NOW)
    assert (counts.imported, counts.matched) == (3, 0)
    # the same file in another store is not a duplicate of this one
    assert import_responses(database, store_id, rows(), now=NOW).imported == 3


def test_delighted_properties_are_stored_with_the_answer(database: Database, store_id: str) -> None:
    text = (
        "Response ID,Email,Score,Created At,Notes,Tags,Plan\n"
        "r1,ann@example.com,9,2025-03-01T10:00:00Z,rappelée,vip,Pro\n"
        "r2,bob@example.com,4,2025-03-02T10:00:00Z,,,\n"
    )
    import_responses(database, store_id, rows(text), now=NOW)
    with database.session() as session:
        stored = dict(
            session.execute(
                select(Response.email, Response.properties).where(Response.store == store_id)
            ).all()
        )
    assert stored == {
        "ann@example.com": {"Notes": "rappelée", "Tags": "vip", "Plan": "Pro"},
        "bob@example.com": None,
    }


def response_indexes(database: Database) -> set[str]:
    from sqlalchemy import inspect

    return {str(index["name"]) for index in inspect(database.engine).get_indexes("responses")}


def test_a_large_load_builds_the_indexes_after_and_keeps_every_answer(
    database: Database, store_id: str
) -> None:
    seed(database, store_id)
    before = response_indexes(database)
    counts = import_responses(database, store_id, rows(), now=NOW, expected_rows=10**7)
    assert counts.imported == 3
    assert counts.matched == 3  # nobody@ through the order's customer
    assert response_indexes(database) == before
    with database.session() as session:
        stored = session.scalars(select(Response.email).where(Response.store == store_id))
        assert sorted(stored) == ["jane@example.com", "john@example.com", "nobody@example.com"]


def test_an_import_that_died_during_a_large_load_gets_its_indexes_back_on_the_next(
    database: Database, store_id: str
) -> None:
    from nps_engine.store.response_imports import _secondary_indexes

    before = response_indexes(database)
    dropped = _secondary_indexes()[0]
    with database.engine.begin() as connection:
        dropped.drop(connection)  # what a load killed before its end leaves behind
    assert str(dropped.name) not in response_indexes(database)
    import_responses(database, store_id, rows(), now=NOW)
    assert response_indexes(database) == before


def test_progress_hears_each_batch(database: Database, store_id: str) -> None:
    heard: list[int] = []
    import_responses(
        database,
        store_id,
        rows(),
        now=NOW,
        batch_size=2,
        on_batch=lambda c: heard.append(c.imported),
    )
    assert heard == [2, 3]


def unique_constraints(database: Database) -> set[str]:
    from sqlalchemy import inspect

    found = inspect(database.engine).get_unique_constraints("responses")
    return {str(constraint["name"]) for constraint in found}


def test_a_large_load_keeps_the_first_of_each_key_and_the_stored_answers(
    database: Database, store_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two rows make a large load: on PostgreSQL the later batches go straight into the table,
    # its unique constraints dropped, and duplicates are found when they are built again.
    monkeypatch.setattr(response_imports, "LARGE_LOAD", 2)
    seed(database, store_id)
    indexes, uniques = response_indexes(database), unique_constraints(database)
    header, first, second, third = CSV.splitlines()
    import_responses(database, store_id, rows(f"{header}\n{second}\n"), now=NOW)
    again = "jane@example.com,5,Again,2025-06-01T10:00:00Z,#1002"
    repeated = first.replace("Great", "Other")  # the same answer: the first line counts
    text = f"{header}\n{first}\n{second}\n{third}\n{again}\n{repeated}\n"
    counts = import_responses(
        database, store_id, rows(text), now=NOW, batch_size=2, expected_rows=5
    )
    assert (counts.imported, counts.duplicates) == (3, 2)
    assert (counts.matched, counts.unmatched, counts.orders_matched) == (3, 0, 3)
    answers = stored(database, store_id)
    assert [(a.email, a.score, a.comment) for a in answers] == [
        ("john@example.com", 9, "Great"),
        ("jane@example.com", 3, "Late"),
        ("nobody@example.com", 7, None),
        ("jane@example.com", 5, "Again"),
    ]
    assert [(a.customer_id, a.order_id) for a in answers] == [(11, 901), (12, None), (12, 555),
                                                              (12, 555)]  # fmt: skip
    assert (response_indexes(database), unique_constraints(database)) == (indexes, uniques)
    assert import_responses(database, store_id, rows(text), now=NOW).imported == 0


def test_a_large_load_that_fails_leaves_the_store_as_before(
    database: Database, store_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if database.engine.dialect.name == "sqlite":
        pytest.skip("SQLite commits a large load as it goes; a new run finishes it")
    monkeypatch.setattr(response_imports, "LARGE_LOAD", 2)
    indexes, uniques = response_indexes(database), unique_constraints(database)
    text = "email,score,responded_at\n" + "".join(
        f"c{i}@example.com,{i % 11},2025-01-01T00:00:00Z\n" for i in range(6)
    )

    def failing() -> Iterator[ImportedResponse]:
        yield from rows(text)
        raise OSError("the disk went away")

    with pytest.raises(OSError):
        import_responses(database, store_id, failing(), now=NOW, batch_size=2, expected_rows=9)
    assert stored(database, store_id) == []
    assert (response_indexes(database), unique_constraints(database)) == (indexes, uniques)


def test_a_large_dry_run_writes_nothing(
    database: Database, store_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(response_imports, "LARGE_LOAD", 2)
    seed(database, store_id)
    indexes, uniques = response_indexes(database), unique_constraints(database)
    counts = import_responses(
        database, store_id, rows(), now=NOW, dry_run=True, batch_size=1, expected_rows=3
    )
    assert (counts.imported, counts.matched, counts.orders_matched) == (3, 3, 2)
    assert stored(database, store_id) == []
    assert (response_indexes(database), unique_constraints(database)) == (indexes, uniques)
