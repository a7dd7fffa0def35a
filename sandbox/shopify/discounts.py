"""Discount codes: ``discountCodeBasicCreate`` and ``codeDiscountNodeByCode``.

Enough of Shopify's behaviour for promoter rewards: codes are unique per shop, case-insensitively
(a second create with the same code gets a ``TAKEN`` userError, which is how a client that lost
the first answer learns it already succeeded); the mutation needs ``write_discounts`` (an
ACCESS_DENIED error otherwise, as for any missing scope). What was created is kept as given, so a
test can check the customer, value, limits and dates a code got.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

from sandbox.shopify.gid import gid


@dataclass
class DiscountBook:
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)  # by upper-case code
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def create(self, basic: dict[str, Any]) -> dict[str, Any]:
        code = str(basic.get("code") or "").strip()
        if not code:
            return _refused("BLANK", "Code can't be blank")
        if len(code) > 255:
            return _refused("TOO_LONG", "Code is too long")
        with self._lock:
            if code.upper() in self.codes:
                return _refused("TAKEN", "Code must be unique. Please try a different code.")
            number = len(self.codes) + 1
            self.codes[code.upper()] = {"id": gid("DiscountCodeNode", number), **basic}
            return {"codeDiscountNode": {"id": gid("DiscountCodeNode", number)}, "userErrors": []}

    def find(self, code: str) -> dict[str, Any] | None:
        with self._lock:
            found = self.codes.get(code.strip().upper())
        return {"id": found["id"]} if found else None


def _refused(code: str, message: str) -> dict[str, Any]:
    error = {"code": code, "field": ["basicCodeDiscount", "code"], "message": message}
    return {"codeDiscountNode": None, "userErrors": [error]}


def _require(info: GraphQLResolveInfo[Any], scope: str, field_name: str) -> None:
    if scope not in info.context.scopes:
        raise GraphQLError(
            f"Access denied for {field_name} field. Required access: `{scope}` access scope.",
            extensions={
                "code": "ACCESS_DENIED",
                "documentation": "https://shopify.dev/api/usage/access-scopes",
                "requiredAccess": f"`{scope}` access scope.",
            },
        )


def discount_code_basic_create(
    _root: Any,
    info: GraphQLResolveInfo[Any],
    basicCodeDiscount: dict[str, Any],  # noqa: N803
) -> dict[str, Any]:
    _require(info, "write_discounts", "discountCodeBasicCreate")
    book: DiscountBook = info.context.discounts
    return book.create(basicCodeDiscount)


def code_discount_node_by_code(
    _root: Any, info: GraphQLResolveInfo[Any], code: str
) -> dict[str, Any] | None:
    if not {"read_discounts", "write_discounts"} & set(info.context.scopes):
        _require(info, "read_discounts", "codeDiscountNodeByCode")
    book: DiscountBook = info.context.discounts
    return book.find(code)
