"""How fast are the Zendesk simulator and the SMTP sink that demos, e2e tests and benchmarks run on?

Generates a world (default 5,000 customers), starts the Zendesk simulator (account limit lifted so
only the simulator's own speed shows) and the SMTP sink, and prints: world generation time, small
GETs per second on one keep-alive connection, a full cursor export (1000 per page), a batch of
tag writes through update_many, and messages per second into the SMTP sink.

    python bench/sandbox_zendesk.py
    python bench/sandbox_zendesk.py --customers 20000
"""

from __future__ import annotations

import argparse
import smtplib
import time
from datetime import UTC, datetime
from email.message import EmailMessage

import requests

from sandbox.generator import generate
from sandbox.smtp import SmtpSink
from sandbox.zendesk import ZendeskOptions, ZendeskSimulator

UNLIMITED = ZendeskOptions(requests_per_minute=10**9, export_requests_per_minute=10**9)


def timed(label: str, count: int, unit: str, action: object) -> None:
    assert callable(action)
    started = time.perf_counter()
    action()
    elapsed = time.perf_counter() - started
    print(f"{label:<42} {elapsed:8.3f} s   {count / elapsed:10.0f} {unit}/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--messages", type=int, default=200)
    args = parser.parse_args()

    started = time.perf_counter()
    world = generate(args.customers, seed=1, now=datetime.now(UTC))
    print(
        f"{'generate world':<42} {time.perf_counter() - started:8.3f} s   "
        f"({len(world.zendesk_users)} users, {len(world.tickets)} tickets)"
    )
    with ZendeskSimulator(world, UNLIMITED) as zendesk:
        session = requests.Session()
        session.auth = (f"{zendesk.options.email}/token", zendesk.options.api_token)
        base = f"{zendesk.base_url}/api/v2"
        user_id = next(iter(world.zendesk_users))

        def gets() -> None:
            for _ in range(args.requests):
                session.get(f"{base}/users/{user_id}.json", timeout=10).raise_for_status()

        def export() -> None:
            url: str | None = f"{base}/incremental/tickets/cursor.json?start_time=0"
            while url:
                page = session.get(url, timeout=60).json()
                url = None if page["end_of_stream"] else page["after_url"]

        ids = list(world.zendesk_users)[:100]

        def bulk_tags() -> None:
            for _ in range(10):
                batch = {"users": [{"id": i, "tags": ["nps_promoter"]} for i in ids]}
                session.put(f"{base}/users/update_many.json", json=batch, timeout=10)

        timed(f"GET users/{{id}} x{args.requests}", args.requests, "requests", gets)
        timed(
            f"export {len(world.tickets)} tickets (1000/page)",
            len(world.tickets),
            "tickets",
            export,
        )
        timed("update_many 10 x 100 users", 1000, "users", bulk_tags)

    with SmtpSink() as sink:

        def send() -> None:
            with smtplib.SMTP(sink.host, sink.port) as client:
                for n in range(args.messages):
                    message = EmailMessage()
                    message["From"], message["To"] = "shop@example.com", f"c{n}@example.com"
                    message["Subject"] = "How likely are you to recommend us?"
                    message.set_content("0 1 2 3 4 5 6 7 8 9 10")
                    message.add_alternative("<p>0 ... 10</p>", subtype="html")
                    client.send_message(message)
            sink.wait_for(args.messages, timeout=60)

        timed(f"SMTP sink {args.messages} multipart messages", args.messages, "messages", send)


if __name__ == "__main__":
    main()
