"""Bulk query operations: run a whole-connection query in the background, serve JSONL.

As Shopify does (shopify-notes.md section 4, and the recorded run-and-poll samples):
``bulkOperationRunQuery`` answers ``CREATED`` with ``objectCount: "0"`` and ``url: null``; polls
(``bulkOperation(id:)``, ``currentBulkOperation``, ``node(id:)``) see ``RUNNING`` then
``COMPLETED`` with ``completedAt``, string counts, ``fileSize`` and a ``url``. The 2026-01 way to
poll, ``bulkOperations(query: "status:running")``, lists them newest first. The result is JSONL:
one object per line; objects of nested connections are lines of their own with ``__parentId``,
plain lists stay inline; slashes are escaped as ``\\/`` like Shopify's encoder does. Before
2026-01 one bulk query may run at a time per shop, from 2026-01 five; one more gets
``OPERATION_IN_PROGRESS`` naming the running ones. The query must read at least one connection and
may not start at ``node``/``nodes``.

Bulk mutations (``bulkOperationRunMutation``) run one mutation per line of a staged JSONL file
(:mod:`sandbox.shopify.staged_uploads`), outside the cost bucket, and their result file has one
line per input line: the mutation's answer plus ``__lineNumber``. The mutation must have exactly
one root field and may not itself be a bulk operation; a path never uploaded is ``NO_SUCH_FILE``.

Progress is counted in polls, not seconds, so tests are fast and deterministic: the first poll
sees ``RUNNING`` and the ``polls_to_complete``-th sees ``COMPLETED`` (if the work is done).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLResolveInfo,
    GraphQLSchema,
    OperationDefinitionNode,
    parse,
    validate,
)

from sandbox.shopify.gid import gid, parse_gid
from sandbox.shopify.jsonl import jsonl_lines
from sandbox.shopify.pages import PageArgs, connection, sort_value
from sandbox.shopify.search import SearchFields, parse_search
from sandbox.shopify.staged_uploads import StagedUploads

BULK_ID_BASE = 7_749_099_000_000
TERMINAL = {"COMPLETED", "FAILED", "CANCELED", "EXPIRED"}

QueryRunner = Callable[[str], tuple[Any, list[GraphQLError]]]
# Runs one line of a bulk mutation: the mutation text and the line's variables -> its answer.
MutationRunner = Callable[[str, dict[str, Any]], dict[str, Any]]
NOT_IN_BULK = {"bulkOperationRunMutation", "bulkOperationRunQuery", "stagedUploadsCreate"}


@dataclass
class BulkJob:
    id: int
    query: str
    created_at: datetime
    base_url: str
    type: str = "QUERY"
    staged_path: str | None = None
    status: str = "CREATED"
    completed_at: datetime | None = None
    error_code: str | None = None
    object_count: int = 0
    root_object_count: int = 0
    polls: int = 0
    result: bytes | None = None
    failed: bool = False
    finished: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str | None:
        if self.status != "COMPLETED":
            return None
        return f"{self.base_url}/bulk-results/{self.id}.jsonl"


class BulkOperations:
    def __init__(
        self,
        schema: GraphQLSchema,
        run_query: QueryRunner,
        clock: Callable[[], datetime],
        *,
        polls_to_complete: int = 2,
        completion_wait: float = 5.0,
        run_mutation: MutationRunner | None = None,
        uploads: StagedUploads | None = None,
    ) -> None:
        self.schema = schema
        self.run_query = run_query
        self.run_mutation = run_mutation
        self.uploads = uploads
        self.clock = clock
        self.polls_to_complete = max(polls_to_complete, 1)
        self.completion_wait = completion_wait
        self._jobs: dict[int, BulkJob] = {}
        self._lock = threading.Lock()

    def start(self, query: str, api_version: str, base_url: str) -> dict[str, Any]:
        """The ``BulkOperationRunQueryPayload`` for a new run."""
        problem = self._invalid(query)
        if problem:
            return _payload(None, [{"field": ["query"], "message": problem, "code": "INVALID"}])
        with self._lock:
            busy = self._slots_taken("QUERY", api_version)
            if busy:
                return _payload(
                    None, [{"field": None, "message": busy, "code": "OPERATION_IN_PROGRESS"}]
                )
            job = BulkJob(
                BULK_ID_BASE + len(self._jobs) + 1, query, _second(self.clock()), base_url
            )
            self._jobs[job.id] = job
        threading.Thread(target=self._run, args=(job,), daemon=True).start()
        return _payload(job, [])

    def start_mutation(
        self, mutation: str, staged_path: str, api_version: str, base_url: str
    ) -> dict[str, Any]:
        """The ``BulkOperationRunMutationPayload`` for a new bulk mutation."""
        problem = self._invalid_mutation(mutation)
        if problem:
            return _payload(None, [_mutation_error(problem, "INVALID_MUTATION", "mutation")])
        if self.uploads is None or self.uploads.file(staged_path) is None:
            message = "The JSONL file could not be found. Try uploading the file again."
            return _payload(None, [_mutation_error(message, "NO_SUCH_FILE", "stagedUploadPath")])
        with self._lock:
            busy = self._slots_taken("MUTATION", api_version)
            if busy:
                return _payload(None, [_mutation_error(busy, "OPERATION_IN_PROGRESS", None)])
            job = BulkJob(
                BULK_ID_BASE + len(self._jobs) + 1,
                mutation,
                _second(self.clock()),
                base_url,
                type="MUTATION",
                staged_path=staged_path,
            )
            self._jobs[job.id] = job
        threading.Thread(target=self._run_lines, args=(job,), daemon=True).start()
        return _payload(job, [])

    def _slots_taken(self, kind: str, api_version: str) -> str | None:
        """Shopify's refusal when every slot of this kind is taken (five from 2026-01, one
        before), naming the running operations; None when one is free. Call under the lock."""
        running = [j for j in self._jobs.values() if j.status not in TERMINAL and j.type == kind]
        if len(running) < (5 if api_version >= "2026-01" else 1):
            return None
        ids = ", ".join(gid("BulkOperation", j.id) for j in running)
        return (
            f"A bulk {kind.lower()} operation for this app and shop is already in progress: {ids}."
        )

    def observe(self, job_id: int) -> BulkJob | None:
        """A poll: the job as the client sees it now (polls advance it)."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.status in TERMINAL:
                return job
            job.polls += 1
            job.status = "RUNNING"
            due = job.polls >= self.polls_to_complete
        # Wait a little for the work (outside the lock): small worlds finish in milliseconds, and
        # a poll that is due should not depend on thread scheduling. Big ones stay RUNNING.
        if due and job.finished.wait(timeout=self.completion_wait):
            with self._lock:
                if job.status == "RUNNING":
                    self._finish(job)
        return job

    def observe_all(self) -> list[BulkJob]:
        """A listing (``bulkOperations``) is a poll of every operation it shows."""
        with self._lock:
            ids = sorted(self._jobs)
        jobs = [self.observe(job_id) for job_id in ids]
        return [job for job in jobs if job is not None]

    def current(self) -> BulkJob | None:
        with self._lock:
            latest = max(self._jobs, default=None)
        return None if latest is None else self.observe(latest)

    def cancel(self, job_id: int) -> dict[str, Any]:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return _payload(
                    None, [{"field": ["id"], "message": "Bulk operation does not exist"}]
                )
            if job.status in TERMINAL:
                message = f"A bulk operation cannot be canceled when it is {job.status.lower()}"
                return _payload(job, [{"field": None, "message": message}])
            job.status = "CANCELED"
            job.completed_at = _second(self.clock())
            return _payload(job, [])

    def result(self, job_id: int) -> bytes | None:
        with self._lock:
            job = self._jobs.get(job_id)
            return job.result if job is not None and job.status == "COMPLETED" else None

    def _finish(self, job: BulkJob) -> None:
        job.status = "FAILED" if job.failed else "COMPLETED"
        job.error_code = "INTERNAL_SERVER_ERROR" if job.failed else None
        job.completed_at = _second(self.clock())

    def _run(self, job: BulkJob) -> None:
        try:
            data, errors = self.run_query(job.query)
            if errors or data is None:
                job.failed = True
                return
            lines, roots = jsonl_lines(data)
            job.result = "".join(line + "\n" for line in lines).encode()
            job.object_count, job.root_object_count = len(lines), roots
        except Exception:  # noqa: BLE001 - a crash of the job is what FAILED reports
            job.failed = True
        finally:
            job.finished.set()

    def _run_lines(self, job: BulkJob) -> None:
        try:
            assert self.uploads is not None
            assert self.run_mutation is not None
            assert job.staged_path is not None
            content = self.uploads.file(job.staged_path) or b""
            lines: list[str] = []
            for number, raw in enumerate(content.splitlines()):
                if not raw.strip():
                    continue
                answer = self.run_mutation(job.query, json.loads(raw))
                answer["__lineNumber"] = number
                lines.append(json.dumps(answer, separators=(",", ":")).replace("/", "\\/"))
            job.result = "".join(line + "\n" for line in lines).encode()
            job.object_count = job.root_object_count = len(lines)
        except Exception:  # noqa: BLE001 - a crash of the job is what FAILED reports
            job.failed = True
        finally:
            job.finished.set()

    def _invalid_mutation(self, mutation: str) -> str | None:
        try:
            document = parse(mutation)
        except GraphQLError as error:
            return f"Failed to parse the mutation - {error.message}"
        errors = validate(self.schema, document)
        if errors:
            return f"Invalid mutation: {errors[0].message}"
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if len(operations) != 1 or operations[0].operation.value != "mutation":
            return "Bulk mutations must contain exactly one mutation operation."
        roots = [s for s in operations[0].selection_set.selections if isinstance(s, FieldNode)]
        if len(roots) != 1:
            return "Bulk mutations must contain exactly one mutation field."
        if roots[0].name.value in NOT_IN_BULK:
            return f"You cannot run {roots[0].name.value} inside a bulk mutation."
        return None

    def _invalid(self, query: str) -> str | None:
        try:
            document = parse(query)
        except GraphQLError as error:
            return f"Invalid bulk query: {error.message}"
        errors = validate(self.schema, document)
        if errors:
            return f"Invalid bulk query: {errors[0].message}"
        operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
        roots = [s for s in operation.selection_set.selections if isinstance(s, FieldNode)]
        if any(r.name.value in {"node", "nodes"} for r in roots):
            return "Bulk queries cannot contain a top level `node` or `nodes` field."
        root = self.schema.query_type
        assert root is not None
        if not any(
            str(root.fields[r.name.value].type).rstrip("!").endswith("Connection")
            for r in roots
            if r.name.value in root.fields
        ):
            return "Bulk queries must contain at least one connection."
        return None


def _payload(job: BulkJob | None, errors: list[dict[str, Any]]) -> dict[str, Any]:
    return {"bulkOperation": job, "userErrors": errors}


def _mutation_error(message: str, code: str, argument: str | None) -> dict[str, Any]:
    return {"field": [argument] if argument else None, "message": message, "code": code}


def _second(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


BULK_OPERATION: dict[str, Callable[..., Any]] = {
    "id": lambda j, i: gid("BulkOperation", j.id),
    "status": lambda j, i: j.status,
    "type": lambda j, i: j.type,
    "errorCode": lambda j, i: j.error_code,
    "createdAt": lambda j, i: j.created_at,
    "completedAt": lambda j, i: j.completed_at,
    "objectCount": lambda j, i: j.object_count if j.status == "COMPLETED" else 0,
    "rootObjectCount": lambda j, i: j.root_object_count if j.status == "COMPLETED" else 0,
    "fileSize": lambda j, i: len(j.result) if j.status == "COMPLETED" and j.result else None,
    "url": lambda j, i: j.url,
    "partialDataUrl": lambda j, i: None,
    "query": lambda j, i: j.query,
}

MUTATION_BULK: dict[str, Callable[..., Any]] = {
    "bulkOperationRunQuery": lambda _r, info, query, **_options: info.context.bulk.start(
        query, info.context.api_version, info.context.base_url
    ),
    "bulkOperationCancel": lambda _r, info, id: info.context.bulk.cancel(_bulk_id(id)),
    "bulkOperationRunMutation": lambda _r, info, mutation, **options: (
        info.context.bulk.start_mutation(
            mutation, options["stagedUploadPath"], info.context.api_version, info.context.base_url
        )
    ),
    "stagedUploadsCreate": lambda _r, info, input: info.context.bulk.uploads.create(
        input, info.context.base_url
    ),
}

BULK_SEARCH = SearchFields(
    {
        "status": ("text", lambda j: j.status.lower()),
        "operation_type": ("text", lambda j: j.type.lower()),
        "created_at": ("time", lambda j: j.created_at),
        "id": ("int", lambda j: j.id),
    }
)


def bulk_operations(_root: Any, info: GraphQLResolveInfo[Any], **args: Any) -> dict[str, Any]:
    """``bulkOperations``: newest first by default (its documented order), so ``reverse`` flips
    to oldest first."""
    jobs = info.context.bulk.observe_all()
    completed = args.get("sortKey") == "COMPLETED_AT"
    keyed = sorted(
        ((sort_value(j.completed_at if completed and j.completed_at else j.created_at), j.id), j)
        for j in jobs
    )
    page = {**args, "reverse": not args.get("reverse", False)}
    return connection(
        [key for key, _ in keyed],
        [job for _, job in keyed],
        BULK_SEARCH.predicate(parse_search(args.get("query"))),
        PageArgs.of(page),
        by_id=False,
    )


QUERY_BULK: dict[str, Callable[..., Any]] = {
    "bulkOperation": lambda _r, info, id: info.context.bulk.observe(_bulk_id(id)),
    "currentBulkOperation": lambda _r, info, type="QUERY": info.context.bulk.current(),
    "bulkOperations": bulk_operations,
}


def _bulk_id(value: str) -> int:
    kind, number = parse_gid(value)
    return number if kind == "BulkOperation" else -1
