"""Tag pushes at scale: one bulk mutation per kind of change instead of one request per customer.

Below ``threshold`` changed customers the aliased mutations of :mod:`connectors.shopify.tags` are
quicker (a bulk operation has a fixed overhead of several calls and polls). Above it, each tag
mutation costs 10 points of the cost bucket (50,000 customers = about 1.4 hours at the standard
100 points/s), while a bulk mutation runs at Shopify's pace, outside the bucket. The flow
(shopify-notes.md section 4, Shopify's "bulk import data" guide):

1. ``stagedUploadsCreate`` with resource ``BULK_MUTATION_VARIABLES`` gives an upload target;
2. the JSONL of variables (one ``{"id", "tags"}`` object per line) is POSTed there as a
   multipart form: the target's parameters first, the file last, no Shopify token sent;
3. ``bulkOperationRunMutation`` runs ``tagsRemove`` (then, in a second operation, ``tagsAdd``)
   once per line, with the ``key`` parameter as ``stagedUploadPath``;
4. ``bulkOperation(id:)`` is polled until it ends, and its result JSONL read: one line per input
   line, the mutation's answer plus ``__lineNumber`` (0-based), so each customer's
   ``userErrors`` are found again.

Removals run before additions, as in the aliased path, and the diff rules do not change: the
same :class:`~nps_engine.ports.TagChange` values come in, the same outcomes go out. A customer
whose line is missing from the result (an operation that FAILED part-way) is a retryable failure:
adding or removing a tag twice is harmless, so the next push simply sends it again.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from connectors.errors import ConnectorError
from connectors.retry import call_with_retries
from connectors.shopify.client import ShopifyClient
from connectors.shopify.errors import (
    SYSTEM,
    ShopifyAuthError,
    ShopifyRequestRejected,
    ShopifyTransientError,
)
from connectors.shopify.mapping import gid
from connectors.shopify.queries import TagOperation
from connectors.shopify.tags import MAX_INPUT_SIZE, ShopifyTagWriter
from nps_engine.ports import PushOutcome, TagChange

log = logging.getLogger(__name__)

# Below this many changed customers the aliased mutations are quicker than a bulk operation.
DEFAULT_THRESHOLD = 2000
# Shopify refused staged bulk-mutation files over 20 MB (shopify-notes.md section 4); a line is
# about 100 bytes, so one file holds far more than a store has customers. Cut at 100,000 anyway.
MAX_LINES_PER_OPERATION = 100_000

STAGED_UPLOAD = """
mutation NpsStagedUpload($input: [StagedUploadInput!]!) {
  stagedUploadsCreate(input: $input) {
    stagedTargets { url resourceUrl parameters { name value } }
    userErrors { field message }
  }
}
"""

BULK_MUTATION_RUN = """
mutation NpsBulkMutation($mutation: String!, $stagedUploadPath: String!) {
  bulkOperationRunMutation(mutation: $mutation, stagedUploadPath: $stagedUploadPath) {
    bulkOperation { id status }
    userErrors { field message code }
  }
}
"""

BULK_MUTATION_STATUS = """
query NpsBulkMutationStatus($id: ID!) {
  bulkOperation(id: $id) { id status errorCode objectCount url partialDataUrl }
}
"""

# The mutation each line runs; its variables are the JSONL line.
LINE_MUTATIONS: dict[TagOperation, str] = {
    "tagsRemove": (
        "mutation NpsTagsRemove($id: ID!, $tags: [String!]!) "
        "{ tagsRemove(id: $id, tags: $tags) { node { id } userErrors { field message } } }"
    ),
    "tagsAdd": (
        "mutation NpsTagsAdd($id: ID!, $tags: [String!]!) "
        "{ tagsAdd(id: $id, tags: $tags) { node { id } userErrors { field message } } }"
    ),
}

FINISHED = {"COMPLETED"}
ENDED = {"FAILED", "CANCELED", "EXPIRED"}


@dataclass
class BulkPushStats:
    """What the bulk path did in a run, for the job summary and the benchmark."""

    operations: int = 0
    lines: int = 0
    waited_seconds: float = 0.0


class ShopifyBulkTagWriter:
    """``TagWriter`` for Shopify: aliased mutations for small pushes, bulk mutations above
    ``threshold`` changed customers."""

    def __init__(
        self,
        client: ShopifyClient,
        *,
        threshold: int = DEFAULT_THRESHOLD,
        poll_seconds: float = 2.0,
        max_wait_seconds: float = 3600.0,
        spool_dir: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.threshold = threshold
        self.poll_seconds = poll_seconds
        self.max_wait_seconds = max_wait_seconds
        self.spool_dir = spool_dir
        self._clock = clock
        self._sleep = sleep
        self.aliased = ShopifyTagWriter(client)
        self.stats = BulkPushStats()

    def push(self, changes: Sequence[TagChange]) -> Iterator[PushOutcome]:
        if len(changes) < self.threshold:
            yield from self.aliased.push(changes)
            return
        failures: dict[int, tuple[str, bool]] = {}
        for kind in ("tagsRemove", "tagsAdd"):
            lines = [(c.customer_id, _tags(c, kind)) for c in changes if _tags(c, kind)]
            lines = [(owner, tags) for owner, tags in lines if owner not in failures]
            for start in range(0, len(lines), MAX_LINES_PER_OPERATION):
                part = lines[start : start + MAX_LINES_PER_OPERATION]
                failures.update(self._run_operation(kind, part))
        for change in changes:
            failure = failures.get(change.customer_id)
            if failure is None:
                yield PushOutcome(change.customer_id, ok=True)
            else:
                error, retryable = failure
                yield PushOutcome(change.customer_id, ok=False, error=error, retryable=retryable)

    def _run_operation(
        self, kind: TagOperation, lines: Sequence[tuple[int, tuple[str, ...]]]
    ) -> dict[int, tuple[str, bool]]:
        """Run one bulk operation; the customers it failed, with (error, retryable)."""
        if not lines:
            return {}
        try:
            path = self._upload(lines)
            operation_id = self._start(kind, path)
            url = self._wait(operation_id)
            self.stats.operations += 1
            self.stats.lines += len(lines)
            answered = self._read_result(url, kind) if url else {}
        except ShopifyAuthError:
            raise
        except ConnectorError as exc:
            return {owner: (str(exc), exc.transient) for owner, _ in lines}
        failures: dict[int, tuple[str, bool]] = {}
        for number, (owner, _tags_sent) in enumerate(lines):
            outcome = answered.get(number)
            if outcome is None:
                failures[owner] = (f"bulk {kind} gave no result for this customer", True)
            elif outcome:
                failures[owner] = (outcome, False)
        return failures

    def _upload(self, lines: Sequence[tuple[int, tuple[str, ...]]]) -> str:
        """Stage the variables file; its ``stagedUploadPath`` (the ``key`` parameter)."""
        staged = self.client.execute(
            STAGED_UPLOAD,
            {
                "input": [
                    {
                        "resource": "BULK_MUTATION_VARIABLES",
                        "filename": "nps-tags.jsonl",
                        "mimeType": "text/jsonl",
                        "httpMethod": "POST",
                    }
                ]
            },
        ).data["stagedUploadsCreate"]
        _refuse_on_user_errors("staged upload", staged)
        target = (staged.get("stagedTargets") or [None])[0]
        if not target or not target.get("url"):
            raise ShopifyTransientError("staged upload gave no target", system=SYSTEM)
        fields = {str(p["name"]): str(p["value"]) for p in target.get("parameters") or ()}
        if "key" not in fields:
            raise ShopifyRequestRejected("staged upload target has no 'key'", system=SYSTEM)
        body = "".join(
            json.dumps({"id": gid("Customer", owner), "tags": list(tags)}) + "\n"
            for owner, tags in lines
        ).encode("utf-8")
        self._post_file(str(target["url"]), fields, body)
        return fields["key"]

    def _post_file(self, url: str, fields: Mapping[str, str], body: bytes) -> None:
        call_with_retries(lambda: self._post_file_once(url, fields, body), sleep=self._sleep)

    def _post_file_once(self, url: str, fields: Mapping[str, str], body: bytes) -> None:
        # A signed storage URL: our Shopify token must not go there. ``requests`` puts ``data``
        # fields before ``files``, and the storage service wants the file last.
        try:
            response = self.client.http.post(
                url, data=dict(fields), files={"file": ("nps-tags.jsonl", body, "text/jsonl")}
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise ShopifyTransientError(
                f"staged upload cut: {type(exc).__name__}", system=SYSTEM
            ) from exc
        if response.status_code >= 500:
            raise ShopifyTransientError(
                f"staged upload failed: HTTP {response.status_code}", system=SYSTEM
            )
        if response.status_code >= 400:
            raise ShopifyRequestRejected(
                f"staged upload refused: HTTP {response.status_code}", system=SYSTEM
            )

    def _start(self, kind: TagOperation, path: str) -> str:
        deadline = self._clock() + self.max_wait_seconds
        while True:
            payload = self.client.execute(
                BULK_MUTATION_RUN, {"mutation": LINE_MUTATIONS[kind], "stagedUploadPath": path}
            ).data["bulkOperationRunMutation"]
            errors = payload.get("userErrors") or []
            busy = any(e.get("code") == "OPERATION_IN_PROGRESS" for e in errors)
            if not busy:
                _refuse_on_user_errors(f"bulk {kind}", payload)
                return str(payload["bulkOperation"]["id"])
            # Another of our bulk operations (a backfill, another worker's push) holds the
            # shop's slots: wait for one to end rather than fail the push.
            if self._clock() > deadline:
                raise ShopifyTransientError(
                    f"bulk {kind} waited too long for a free slot", system=SYSTEM
                )
            self._pause()

    def _wait(self, operation_id: str) -> str | None:
        deadline = self._clock() + self.max_wait_seconds
        while True:
            operation = self.client.execute(BULK_MUTATION_STATUS, {"id": operation_id}).data[
                "bulkOperation"
            ]
            status = str(operation["status"])
            if status in FINISHED:
                url = operation.get("url")
                return str(url) if url else None
            if status in ENDED:
                code = operation.get("errorCode")
                if code == "ACCESS_DENIED":
                    raise ShopifyAuthError(
                        f"bulk operation {operation_id} denied: needs write_customers",
                        system=SYSTEM,
                    )
                partial = operation.get("partialDataUrl")
                log.warning("bulk operation %s ended %s (%s)", operation_id, status, code)
                return str(partial) if partial else None
            if self._clock() > deadline:
                raise ShopifyTransientError(
                    f"bulk operation {operation_id} still {status}", system=SYSTEM
                )
            self._pause()

    def _pause(self) -> None:
        self.stats.waited_seconds += self.poll_seconds
        self._sleep(self.poll_seconds)

    def _read_result(self, url: str, kind: TagOperation) -> dict[int, str]:
        """Line number -> "" for a success, or the userErrors' messages."""
        answered: dict[int, str] = {}
        with tempfile.TemporaryDirectory(dir=self.spool_dir) as folder:
            spool = Path(folder) / "result.jsonl"
            self.client.download(url, spool)
            with open(spool, "rb") as rows:
                for raw in rows:
                    if raw.strip():
                        number, error = _line_outcome(json.loads(raw), kind)
                        if number is not None:
                            answered[number] = error
        return answered


def _line_outcome(row: Mapping[str, Any], kind: TagOperation) -> tuple[int | None, str]:
    number = row.get("__lineNumber")
    if not isinstance(number, int):
        return None, ""
    if row.get("errors"):
        messages = "; ".join(str(e.get("message")) for e in row["errors"])
        return number, messages or "error"
    payload = (row.get("data") or {}).get(kind) or {}
    errors = payload.get("userErrors") or []
    return number, "; ".join(str(e.get("message")) for e in errors)


def _tags(change: TagChange, kind: TagOperation) -> tuple[str, ...]:
    tags = change.remove if kind == "tagsRemove" else change.add
    return tags[:MAX_INPUT_SIZE]


def _refuse_on_user_errors(what: str, payload: Mapping[str, Any]) -> None:
    errors = payload.get("userErrors") or []
    if errors:
        message = "; ".join(str(e.get("message")) for e in errors)
        raise ShopifyRequestRejected(f"{what} refused: {message}", system=SYSTEM)


def bulk_documents() -> dict[str, str]:
    """Every document the bulk path sends, for validation against the schema."""
    return {
        "staged_upload": STAGED_UPLOAD,
        "bulk_mutation_run": BULK_MUTATION_RUN,
        "bulk_mutation_status": BULK_MUTATION_STATUS,
        **{f"line_{kind}": text for kind, text in LINE_MUTATIONS.items()},
    }
