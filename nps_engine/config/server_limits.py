"""``limits:``: how much a client may send to ``nps serve``, and how slowly.

Bodies are counted while they arrive (a larger one is answered 413 before it is all read), slow
senders are cut off, and no single address may hold more than its share of connections.
"""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class ServerLimits(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    # Shopify and Zendesk webhook bodies (an order with many lines is a few hundred KB).
    webhook_body_kb: Annotated[int, Field(ge=16, le=65536)] = 4096
    # Survey answers, unsubscribe and every other POST.
    form_body_kb: Annotated[int, Field(ge=4, le=65536)] = 256
    # A request's line and headers must arrive within this (stops slowloris clients).
    header_timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 10.0
    # Each part of a body must arrive within this.
    body_timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 30.0
    # Open connections in all; beyond it new requests get 503.
    max_connections: Annotated[int, Field(ge=1, le=100_000)] = 1000
    # Open connections from one client address; beyond it new ones are closed at once.
    max_connections_per_ip: Annotated[int, Field(ge=1, le=100_000)] = 50
