"""Fuzz targets for what strangers and typos reach: the CSV importer, the config loader, segment
rules and the Shopify webhook parsers (the adapter's, and the receiver over HTTP).

Each target takes one generated input and says what happened: ``"ok"`` (a result or the clear
error that input deserves), ``"crash: <Exception>"`` (anything else escaped) or ``"500"`` (the
web app answered a server error). ``tests/security/test_fuzz.py`` runs a few hundred inputs in
CI and requires ``"ok"`` every time; ``bench/fuzz.py`` runs many more and counts the outcomes.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from hypothesis import strategies as st

from connectors.shopify.webhooks import ShopifyWebhookReader, intent_of, signature
from nps_engine.config import ConfigError, load_settings
from nps_engine.response_import import ImportedResponse, ImportFileError, ResponseCsv, RowError
from nps_engine.segment_rules import FEATURES, RuleError, parse_rule
from nps_engine.shop_events import WebhookPayloadError
from nps_engine.store.database import Database
from nps_engine.web.shopify_webhooks import PATH, Receiver, receiver_routes

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)
SHOP = "fuzz-shop.myshopify.com"
SECRET = "fuzz-webhook-secret"  # noqa: S105 - signs the fuzzer's own deliveries
TOPICS = ("orders/fulfilled", "fulfillment_events/create", "refunds/create", "returns/approve",
          "customers/data_request", "customers/redact", "shop/redact")  # fmt: skip

# Cells a file exported by hand, by Delighted or by an attacker may hold.
_odd_cells = st.sampled_from(
    ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-14:00", "9" * 5000, "1e999", "NaN",
     "-1", "١٠", "10.0", " 7 ", "2025-02-30", "1700000000000", "99999999999999", "\x00",
     "jöhn@exämple.com", "a@b", "=cmd|' /C calc'!A0", "2025-03-01 10:00:00 UTC"]
)  # fmt: skip
cells = st.one_of(_odd_cells, st.text(max_size=40), st.integers().map(str),
                  st.datetimes().map(lambda d: d.isoformat()), st.emails())  # fmt: skip
HEADERS = (["email", "score", "comment", "responded_at", "order"],
           ["Response ID", "Score", "Comment", "Email", "Created At"],
           ["email", "score", "responded_at"])  # fmt: skip


@st.composite
def csv_files(draw: st.DrawFn) -> str:
    header = draw(st.sampled_from(HEADERS))
    rows = draw(st.lists(st.lists(cells, min_size=0, max_size=len(header) + 1), max_size=8))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=draw(st.sampled_from([",", ";", "\t"])))
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def import_csv(text: str) -> str:
    try:
        rows = list(
            ResponseCsv(io.StringIO(text), timezone=ZoneInfo("Europe/Paris"), now=NOW).rows()
        )
    except ImportFileError:
        return "ok"
    except Exception as error:  # noqa: BLE001 - counting what escapes is the point
        return f"crash: {type(error).__name__}"
    for row in rows:
        if isinstance(row, RowError):
            continue
        assert isinstance(row, ImportedResponse)
        if not (0 <= row.score <= 10 and row.responded_at.tzinfo and row.responded_at <= NOW):
            return "crash: bad row accepted"
    return "ok"


# YAML: the real sections with plausible and hostile values, plus raw text.
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=20),
    st.sampled_from(["NaN", ".inf", "${NOPE}", "08:30", "Europe/Paris"]),
)
# Two levels are enough for a section's values (a list of times, a rule mapping).
_leaf_values = st.one_of(_scalars, st.lists(_scalars, max_size=4))
_values = st.one_of(_leaf_values, st.dictionaries(st.text(max_size=12), _leaf_values, max_size=4))
_SECTIONS = {"store": ["id", "name", "timezone", "language"], "survey": ["delay_days",
             "max_age_days", "throttle_days", "max_per_run", "quiet_hours"],
             "segments": ["custom", "churn_risk"], "web": ["public_url", "secret_key"],
             "schedule": ["send_between", "sync_minutes"], "limits": ["form_body_kb"]}  # fmt: skip
_MUTATIONS = ["&a ", "*a", "<<: *a\n", "? [a, b]\n: 1\n", "[" * 60, "{", "- ", "!!python/name:os",
              "\t", "---\n", "%YAML 1.1\n"]  # fmt: skip


@st.composite
def config_texts(draw: st.DrawFn) -> str:
    document: dict[str, Any] = {"store": {"id": "fuzz"}}
    for section in draw(st.lists(st.sampled_from(sorted(_SECTIONS)), max_size=4)):
        keys = draw(st.lists(st.sampled_from(_SECTIONS[section]), max_size=3))
        document[section] = {key: draw(_values) for key in keys}
    text = yaml.safe_dump(document)
    if draw(st.booleans()):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(_MUTATIONS)) + text[at:]
    return text


def load_config(text: str) -> str:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            stores = load_settings(path, env={})
        except ConfigError:
            return "ok"
        except Exception as error:  # noqa: BLE001
            return f"crash: {type(error).__name__}"
    try:  # what later commands do with a config `nps check` accepted
        for settings in stores:
            survey = settings.survey
            NOW - timedelta(days=survey.throttle_days + survey.max_age_days)
            _ = settings.store.tz
            for segment in settings.segments.custom:
                segment.parsed.matches(CustomerFeatures())
    except Exception as error:  # noqa: BLE001
        return f"crash later: {type(error).__name__}"
    return "ok"


@dataclass(frozen=True)
class CustomerFeatures:
    category: str = "detractor"
    score: int = 3
    score_drop: int | None = None
    returned: bool = False
    support_contacted: bool = True
    open_ticket: bool = False
    orders_count: int = 2
    total_spent: Decimal = Decimal("120.50")
    days_since_last_order: int | None = None
    tags: frozenset[str] = frozenset({"vip"})
    country: str | None = "FR"


_ops = st.sampled_from(["eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "between"])
_operands = st.one_of(_scalars, st.lists(_scalars, max_size=3))
rules = st.recursive(
    st.dictionaries(st.sampled_from([*FEATURES, "bogus"]),
                    st.one_of(_operands, st.dictionaries(_ops, _operands, max_size=2)),
                    min_size=1, max_size=3),
    lambda inner: st.dictionaries(st.sampled_from(["all", "any"]),
                                  st.lists(inner, min_size=0, max_size=3), min_size=1, max_size=2),
    max_leaves=12,
)  # fmt: skip


def segment_rule(rule: Any) -> str:
    try:
        parsed = parse_rule(rule)
    except RuleError:
        return "ok"
    except Exception as error:  # noqa: BLE001
        return f"crash: {type(error).__name__}"
    try:
        for features in (CustomerFeatures(), CustomerFeatures(score_drop=4, country=None)):
            parsed.matches(features)
    except Exception as error:  # noqa: BLE001
        return f"crash when evaluated: {type(error).__name__}"
    return "ok"


_json = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
              st.text(max_size=20), st.sampled_from(["NaN", "gid://shopify/Order/1", "1e400",
              "2026-10-30T10:00:00-04:00", "0001-01-01T00:00:00+01:00", SHOP, str(10**30)])),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(["id", "order_id", "customer",
                                            "orders_to_redact", "orders_requested", "shop_id",
                                            "shop_domain", "status", "happened_at", "created_at",
                                            "updated_at", "total_price", "fulfillments", "email",
                                            "refunds", "order", "data_request", "name"]),
                                            inner, max_size=6)),
    max_leaves=25,
)  # fmt: skip
payloads = st.dictionaries(st.sampled_from(["id", "order_id", "customer", "shop_id", "shop_domain",
                                            "orders_to_redact", "status", "fulfillment_event"]),
                           _json, max_size=6)  # fmt: skip


def webhook_payload(topic: str, payload: Any) -> str:
    try:
        intent_of(topic, payload)
    except WebhookPayloadError:
        return "ok"
    except Exception as error:  # noqa: BLE001
        return f"crash: {type(error).__name__}"
    return "ok"


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[str, bytes, dict[str, str]]:
    topic = draw(st.one_of(st.sampled_from(TOPICS), st.sampled_from(TOPICS), st.text(max_size=80)))
    body = draw(
        st.one_of(
            payloads.map(lambda p: json.dumps(p).encode()),
            st.binary(max_size=64),
            st.sampled_from([b"[" * 5000 + b"]" * 5000, b"{}", b"null"]),
        )
    )
    headers = {
        "X-Shopify-Webhook-Id": draw(st.text("abcdef0123456789-", min_size=1, max_size=140)),
        "X-Shopify-Event-Id": draw(st.text("abcdef0123456789-", max_size=140)),
        # Mostly headers that pass, so the bodies reach the parser and the store.
        "X-Shopify-Shop-Domain": draw(st.sampled_from([SHOP] * 6 + [SHOP.upper(), "o.example"])),
        "X-Shopify-Triggered-At": draw(
            st.sampled_from(["", NOW.isoformat()] * 3 + ["yesterday", "0001-01-01T00:00:00+14:00"])
        ),
    }  # fmt: skip
    return topic, body, {k: v for k, v in headers.items() if v}


class ReceiverHarness:
    """The Shopify receiver over HTTP on a SQLite store, signing every body with our secret."""

    def __init__(self, folder: Path) -> None:
        from starlette.applications import Starlette

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from starlette.testclient import TestClient

        self.database = Database(f"sqlite:///{folder / 'fuzz.db'}")
        self.database.upgrade()

        class Uninstalled:
            def admin_api_accepts_us(self) -> bool:
                return False

        receiver = Receiver("fuzz", SHOP, SECRET, folder / "exports", self.database,
                            ShopifyWebhookReader(), shop_access=Uninstalled())  # fmt: skip
        app = Starlette(routes=receiver_routes(receiver, lambda: NOW))
        self.client = TestClient(app, raise_server_exceptions=False)

    def deliver(self, delivery: tuple[str, bytes, dict[str, str]]) -> str:
        topic, body, headers = delivery
        sent = {
            **headers,
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": signature(body, SECRET),
        }
        try:
            raw = {k: v.encode("utf-8") for k, v in sent.items()}  # bytes reach the server as sent
            status = self.client.post(PATH, content=body, headers=raw).status_code
        except Exception as error:  # noqa: BLE001
            return f"crash: {type(error).__name__}"
        return "500" if status >= 500 else "ok"

    def close(self) -> None:
        self.client.close()
        self.database.dispose()
