"""Staged uploads: where a bulk mutation's JSONL of variables is put before the operation runs.

Shopify answers ``stagedUploadsCreate`` with a signed storage URL (a Google Cloud Storage bucket)
and form parameters; the client POSTs them with the file as a multipart form, without its Shopify
token, and passes the ``key`` parameter to ``bulkOperationRunMutation`` as ``stagedUploadPath``.
Here the storage is a route of the simulator itself, on loopback. As the real bucket does, it
answers 201 when ``success_action_status`` says so and refuses a form without a file or with a
key it never handed out, and files over 20 MB (shopify-notes.md section 4).
"""

from __future__ import annotations

import threading
import uuid
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from sandbox.loopback import Request, Response

UPLOAD_ROUTE = "POST /staged-uploads"
MAX_FILE_BYTES = 20 * 1024 * 1024


class StagedUploads:
    """Upload targets handed out, and the files received for them."""

    def __init__(self, shop_id: int = 1) -> None:
        self.shop_id = shop_id
        self._expected: set[str] = set()
        self._files: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def create(self, inputs: list[dict[str, Any]], base_url: str) -> dict[str, Any]:
        """The ``StagedUploadsCreatePayload`` for ``inputs``."""
        targets = []
        errors = []
        for index, item in enumerate(inputs):
            if item.get("resource") != "BULK_MUTATION_VARIABLES":
                errors.append(
                    {
                        "field": ["input", str(index), "resource"],
                        "message": "Only BULK_MUTATION_VARIABLES uploads are simulated",
                    }
                )
                continue
            key = f"tmp/{self.shop_id}/bulk/{uuid.uuid4()}/{item.get('filename') or 'vars'}"
            with self._lock:
                self._expected.add(key)
            targets.append(
                {
                    "url": f"{base_url}/staged-uploads",
                    "resourceUrl": None,
                    "parameters": [
                        {"name": "Content-Type", "value": str(item.get("mimeType"))},
                        {"name": "success_action_status", "value": "201"},
                        {"name": "acl", "value": "private"},
                        {"name": "key", "value": key},
                        {"name": "policy", "value": uuid.uuid4().hex},
                    ],
                }
            )
        return {"stagedTargets": targets, "userErrors": errors}

    def receive(self, request: Request) -> Response:
        """The storage bucket's form POST."""
        fields, file_body = _multipart(request)
        key = fields.get("key")
        if file_body is None or key is None:
            return Response.text(400, "form needs a key field and a file field")
        with self._lock:
            if key not in self._expected:
                return Response.text(403, "AccessDenied: unknown key")
            if len(file_body) > MAX_FILE_BYTES:
                return Response.text(400, "EntityTooLarge")
            self._files[key] = file_body
        status = 201 if fields.get("success_action_status") == "201" else 204
        return Response(status, b"", {})

    def file(self, key: str) -> bytes | None:
        with self._lock:
            return self._files.get(key)


def _multipart(request: Request) -> tuple[dict[str, str], bytes | None]:
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        return {}, None
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + request.body
    )
    fields: dict[str, str] = {}
    file_body: bytes | None = None
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(payload, bytes):
            continue
        if name == "file":
            file_body = payload
        else:
            fields[name] = payload.decode("utf-8")
    return fields, file_body
