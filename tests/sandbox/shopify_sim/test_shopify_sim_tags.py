"""tagsAdd / tagsRemove semantics: what a store owner sees on the customer afterwards."""

from __future__ import annotations

import pytest
from shopify_support import GraphQLCaller

from sandbox.shopify import ShopifySimulator
from sandbox.shopify.tags import split_tags, with_added, without
from sandbox.world import Customer, World

MUTATION = """mutation($id: ID!, $tags: [String!]!) {
  %s(id: $id, tags: $tags) {
    node { id ... on Customer { tags updatedAt } ... on Order { tags } }
    userErrors { field message }
  }
}"""


@pytest.mark.parametrize(
    ("existing", "new", "expected"),
    [
        (["Red"], ["red"], ["Red"]),
        ([], ["a, b , c"], ["a", "b", "c"]),
        ([], ["VIP", "vip"], ["VIP"]),
        (["x"], ["y,,  ", " x "], ["x", "y"]),
    ],
)
def test_adding_splits_commas_and_ignores_case(
    existing: list[str], new: list[str], expected: list[str]
) -> None:
    assert with_added(existing, new) == expected


def test_removing_ignores_case_and_keeps_the_rest() -> None:
    assert without(["Red", "VIP", "nps:promoter"], ["red,NPS:PROMOTER"]) == ["VIP"]
    assert split_tags([" a ,b", ""]) == ["a", "b"]


def customer_with_other_app_tag(world: World) -> Customer:
    return next(c for c in world.customers.values() if c.tags)


def test_a_tag_push_keeps_other_apps_tags_and_sorts_like_shopify(
    graphql: GraphQLCaller, shop_world: World
) -> None:
    customer = customer_with_other_app_tag(shop_world)
    other = customer.tags[0]
    gid = f"gid://shopify/Customer/{customer.id}"
    graphql(MUTATION % "tagsAdd", {"id": gid, "tags": ["nps:passive", "nps-score:7"]})
    graphql(MUTATION % "tagsRemove", {"id": gid, "tags": ["nps:passive", "nps-score:7"]})
    body = graphql(MUTATION % "tagsAdd", {"id": gid, "tags": "nps:promoter, nps-score:9"})
    tags = body["data"]["tagsAdd"]["node"]["tags"]
    assert tags == sorted([other, "nps:promoter", "nps-score:9"], key=str.lower)


def test_a_tag_write_moves_updated_at_so_the_next_sync_sees_it(
    graphql: GraphQLCaller, shop_world: World
) -> None:
    customer = next(iter(shop_world.customers.values()))
    before = customer.updated_at
    body = graphql(
        MUTATION % "tagsAdd", {"id": f"gid://shopify/Customer/{customer.id}", "tags": ["a"]}
    )
    assert customer.updated_at > before
    assert body["data"]["tagsAdd"]["node"]["updatedAt"] == customer.updated_at.strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    since = shop_world.now.strftime("%Y-%m-%dT%H:%M:%SZ")  # after everything generated
    listed = graphql(
        "query($q: String) { customers(first: 5, query: $q, sortKey: UPDATED_AT) "
        "{ nodes { id } } }",
        {"q": f"updated_at:>'{since}'"},
    )
    assert f"gid://shopify/Customer/{customer.id}" in [
        n["id"] for n in listed["data"]["customers"]["nodes"]
    ]


def test_adding_an_existing_tag_changes_nothing(graphql: GraphQLCaller, shop_world: World) -> None:
    customer = customer_with_other_app_tag(shop_world)
    before = customer.updated_at
    graphql(
        MUTATION % "tagsAdd",
        {"id": f"gid://shopify/Customer/{customer.id}", "tags": [customer.tags[0].upper()]},
    )
    assert customer.updated_at == before


def test_more_than_250_tags_is_a_user_error_and_nothing_changes(
    graphql: GraphQLCaller, shop_world: World
) -> None:
    customer = next(iter(shop_world.customers.values()))
    customer.tags[:] = [f"t{i}" for i in range(249)]
    body = graphql(
        MUTATION % "tagsAdd", {"id": f"gid://shopify/Customer/{customer.id}", "tags": ["x,y"]}
    )
    assert body["data"]["tagsAdd"] == {
        "node": None,
        "userErrors": [{"field": ["tags"], "message": "Tags cannot be more than 250"}],
    }
    assert len(customer.tags) == 249


def test_orders_take_tags_too(graphql: GraphQLCaller, shop_world: World) -> None:
    order = next(iter(shop_world.orders.values()))
    body = graphql(
        MUTATION % "tagsAdd", {"id": f"gid://shopify/Order/{order.id}", "tags": ["nps-surveyed"]}
    )
    assert body["data"]["tagsAdd"]["node"]["tags"] == ["nps-surveyed"]


def test_an_unknown_order_does_not_exist(graphql: GraphQLCaller) -> None:
    body = graphql(MUTATION % "tagsRemove", {"id": "gid://shopify/Order/42", "tags": ["a"]})
    assert body["data"]["tagsRemove"]["userErrors"] == [
        {"field": ["id"], "message": "Order does not exist"}
    ]


def test_many_tag_mutations_in_one_document_cost_10_each(
    graphql: GraphQLCaller, shopify: ShopifySimulator, shop_world: World
) -> None:
    ids = [f"gid://shopify/Customer/{c}" for c in list(shop_world.customers)[:3]]
    fields = " ".join(
        f'm{i}: tagsAdd(id: "{gid}", tags: ["nps:promoter"]) {{ userErrors {{ message }} }}'
        for i, gid in enumerate(ids)
    )
    body = graphql(f"mutation {{ {fields} }}")
    assert body["extensions"]["cost"]["requestedQueryCost"] == 30
    assert all(
        shop_world.customers[int(g.rsplit("/", 1)[1])].tags[-1] == "nps:promoter" for g in ids
    )
