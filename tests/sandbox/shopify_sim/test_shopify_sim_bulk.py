"""Bulk query operations: CREATED -> RUNNING -> COMPLETED, JSONL with __parentId, one at a time."""

from __future__ import annotations

import json

import requests
from shopify_support import GraphQLCaller, assert_same_shape, sample

from sandbox.world import World

INNER = """#graphql
{
  orders(query: "", sortKey: CREATED_AT) {
    edges {
      node {
        id name
        fulfillments { deliveredAt }
        returns { edges { node { id status } } }
      }
    }
  }
}"""


def run(graphql: GraphQLCaller, query: str = INNER, version: str = "2026-01") -> dict[str, object]:
    recorded = sample("bulkOperation_run_and_poll_2026-04.json")["run"]
    body = graphql(recorded["query"], {"query": query}, version=version)
    result: dict[str, object] = body["data"]["bulkOperationRunQuery"]
    return result


def poll(graphql: GraphQLCaller, operation_id: str) -> dict[str, object]:
    recorded = sample("bulkOperation_run_and_poll_2026-04.json")["statusPolls"][0]
    body = graphql(recorded["query"], {"id": operation_id})
    assert body["extensions"]["cost"]["requestedQueryCost"] == 1
    result: dict[str, object] = body["data"]["bulkOperation"]
    return result


def test_run_answers_created_like_shopify(graphql: GraphQLCaller) -> None:
    recorded = sample("bulkOperation_run_and_poll_2026-04.json")["run"]["response"]
    created = run(graphql)
    assert_same_shape(
        {"data": {"bulkOperationRunQuery": created}},
        recorded["data"] and {"data": recorded["data"]},
    )
    operation = created["bulkOperation"]
    assert isinstance(operation, dict)
    assert operation["status"] == "CREATED"
    assert operation["objectCount"] == "0"
    assert operation["url"] is None
    assert operation["query"] == INNER


def test_polls_go_running_then_completed_with_a_downloadable_jsonl(
    graphql: GraphQLCaller, shop_world: World
) -> None:
    operation = run(graphql)["bulkOperation"]
    assert isinstance(operation, dict)
    first = poll(graphql, str(operation["id"]))
    assert first["status"] == "RUNNING"
    done = poll(graphql, str(operation["id"]))
    terminal = sample("bulkOperation_run_and_poll_2026-04.json")["terminalOperation"]
    assert_same_shape(done, terminal)
    assert done["status"] == "COMPLETED"
    assert done["completedAt"] is not None
    download = requests.get(str(done["url"]), timeout=10)
    assert download.headers["Content-Type"] == "application/jsonl"
    assert str(len(download.content)) == done["fileSize"]
    lines = [json.loads(line) for line in download.text.splitlines()]
    assert str(len(lines)) == done["objectCount"]
    roots = [line for line in lines if "__parentId" not in line]
    assert len(roots) == len(shop_world.orders) == int(str(done["rootObjectCount"]))
    children = [line for line in lines if "__parentId" in line]
    returned = sum(len(o.returns) for o in shop_world.orders.values())
    assert len(children) == returned > 0
    parents = {line["id"] for line in roots}
    assert all(child["__parentId"] in parents for child in children)
    # Plain lists stay inline; Shopify escapes slashes in the file.
    assert isinstance(roots[0]["fulfillments"], list)
    assert "gid:\\/\\/shopify\\/Order\\/" in download.text


def test_current_bulk_operation_sees_the_latest_run(graphql: GraphQLCaller) -> None:
    operation = run(graphql)["bulkOperation"]
    assert isinstance(operation, dict)
    query = "{ currentBulkOperation { id status } }"
    statuses = [graphql(query)["data"]["currentBulkOperation"] for _ in range(2)]
    assert [s["id"] for s in statuses] == [operation["id"]] * 2
    assert [s["status"] for s in statuses] == ["RUNNING", "COMPLETED"]


def test_a_second_run_before_2026_01_is_operation_in_progress(graphql: GraphQLCaller) -> None:
    recorded = sample("bulkOperationRunQuery_created_and_in_progress_2025-01.json")["secondRun"]
    first = run(graphql, version="2025-10")["bulkOperation"]
    assert isinstance(first, dict)
    second = graphql(recorded["request"]["query"], {"query": INNER}, version="2025-10")
    assert_same_shape(second, recorded["response"])
    error = second["data"]["bulkOperationRunQuery"]["userErrors"][0]
    assert error["code"] == "OPERATION_IN_PROGRESS"
    assert error["message"] == (
        f"A bulk query operation for this app and shop is already in progress: {first['id']}."
    )


def test_from_2026_01_the_sixth_concurrent_run_is_refused(graphql: GraphQLCaller) -> None:
    recorded = sample("bulkOperationRunQuery_sixth_run_2026-04.json")["sixthRun"]
    started = [run(graphql)["bulkOperation"] for _ in range(5)]
    sixth = graphql(recorded["query"], {"query": INNER})
    assert_same_shape(sixth, recorded["response"])
    message = sixth["data"]["bulkOperationRunQuery"]["userErrors"][0]["message"]
    assert all(isinstance(op, dict) and str(op["id"]) in message for op in started)


def test_a_bulk_query_without_a_connection_is_invalid(graphql: GraphQLCaller) -> None:
    result = run(graphql, "{ shop { name } }")
    assert result["bulkOperation"] is None
    assert result["userErrors"] == [
        {
            "field": ["query"],
            "message": "Bulk queries must contain at least one connection.",
        }
    ]


def test_cancel_stops_a_running_operation(graphql: GraphQLCaller) -> None:
    operation = run(graphql)["bulkOperation"]
    assert isinstance(operation, dict)
    body = graphql(
        "mutation($id: ID!) { bulkOperationCancel(id: $id) { "
        "bulkOperation { status } userErrors { message } } }",
        {"id": operation["id"]},
    )
    assert body["data"]["bulkOperationCancel"] == {
        "bulkOperation": {"status": "CANCELED"},
        "userErrors": [],
    }
    assert poll(graphql, str(operation["id"]))["status"] == "CANCELED"


def test_bulk_operations_lists_newest_first_and_filters_by_status(graphql: GraphQLCaller) -> None:
    older = run(graphql)["bulkOperation"]
    newer = run(graphql)["bulkOperation"]
    assert isinstance(older, dict)
    assert isinstance(newer, dict)
    query = "query($q: String) { bulkOperations(first: 5, query: $q) { nodes { id status } } }"
    running = graphql(query, {"q": "status:running"})["data"]["bulkOperations"]["nodes"]
    assert [n["id"] for n in running] == [newer["id"], older["id"]]
    completed = graphql(query, {"q": "status:completed"})["data"]["bulkOperations"]["nodes"]
    assert {n["id"] for n in completed} == {older["id"], newer["id"]}
    assert graphql(query, {"q": "status:running"})["data"]["bulkOperations"]["nodes"] == []
