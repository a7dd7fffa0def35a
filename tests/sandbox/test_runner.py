"""The whole sandbox in-process, and ``nps sandbox`` on the command line."""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
import requests
import yaml
from typer.testing import CliRunner

from jobs.cli.app import app
from nps_engine.config.loading import parse_settings
from sandbox.clock import ManualClock
from sandbox.runner import Sandbox, SandboxOptions
from sandbox.traffic import FaultPlan
from sandbox.zendesk import ZendeskOptions

SANDBOX_NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)
OPTIONS = SandboxOptions(customers=40, seed=5, now=SANDBOX_NOW)


@pytest.fixture
def running() -> Iterator[Sandbox]:
    with Sandbox(OPTIONS) as sandbox:
        yield sandbox


def zendesk_get(sandbox: Sandbox, path: str) -> requests.Response:
    ends = sandbox.endpoints()
    auth = (f"{ends.zendesk_email}/token", ends.zendesk_api_token)
    return requests.get(f"{ends.zendesk_url}{path}", auth=auth, timeout=5)


def test_all_three_simulators_answer_with_the_credentials_it_prints(running: Sandbox) -> None:
    ends = running.endpoints()
    assert zendesk_get(running, "/api/v2/users/me.json").json()["user"]["role"] == "admin"

    assert ends.shopify_url is not None
    answer = requests.post(
        f"{ends.shopify_url}/admin/api/2026-01/graphql.json",
        json={"query": "{ customers(first: 2) { edges { node { id } } } }"},
        headers={"X-Shopify-Access-Token": ends.shopify_access_token or ""},
        timeout=5,
    )
    assert len(answer.json()["data"]["customers"]["edges"]) == 2

    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.com", "b@example.com", "hi"
    message.set_content("hello")
    with smtplib.SMTP(ends.smtp_host, ends.smtp_port, timeout=5) as client:
        client.send_message(message)
    assert running.smtp.wait_for(1)[0].message["Subject"] == "hi"


def test_both_vendors_serve_one_world(running: Sandbox) -> None:
    user = next(u for u in running.world.zendesk_users.values() if u.email)
    customer = running.world.customer_by_email(user.email or "")
    assert running.zendesk.world is running.world
    if customer is not None:
        assert running.shopify is not None
        assert running.shopify.world is running.world


def test_the_printed_config_is_a_valid_nps_loop_config(running: Sandbox) -> None:
    document = yaml.safe_load(running.config_yaml(database_url="sqlite:///:memory:"))
    [settings] = parse_settings(document, env={})
    ends = running.endpoints()
    assert settings.zendesk is not None
    assert str(settings.zendesk.base_url).rstrip("/") == ends.zendesk_url
    assert settings.email is not None
    assert settings.email.smtp_port == ends.smtp_port
    assert settings.shopify is not None
    assert str(settings.shopify.api_base_url).rstrip("/") == ends.shopify_url
    assert settings.shopify.webhook_secret is not None
    assert settings.shopify.webhook_secret.get_secret_value() == ends.shopify_webhook_secret


def test_traffic_is_counted_per_simulator(running: Sandbox) -> None:
    zendesk_get(running, "/api/v2/users/me.json")
    counts = running.traffic()
    assert counts["zendesk"].calls == 1
    assert counts["shopify"].calls == 0
    assert counts["smtp"].calls == 0


def test_one_fault_plan_reaches_every_simulator() -> None:
    options = SandboxOptions(customers=5, seed=1, now=SANDBOX_NOW, faults=FaultPlan(error_rate=1.0))
    with Sandbox(options) as sandbox:
        assert zendesk_get(sandbox, "/api/v2/users/me.json").status_code >= 500
        assert sandbox.shopify is not None
        assert sandbox.shopify.traffic.plan.error_rate == 1.0
        assert sandbox.smtp.traffic.plan.error_rate == 1.0


def test_stopping_frees_the_ports() -> None:
    with Sandbox(SandboxOptions(customers=5, now=SANDBOX_NOW)) as sandbox:
        ports = [sandbox.zendesk.port, sandbox.smtp.port]
        assert sandbox.shopify is not None
        ports.append(sandbox.shopify.server.port)
    for port in ports:
        with socket.socket() as probe:
            # REUSEADDR skips TIME_WAIT leftovers; Linux still refuses a port that is listening.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("127.0.0.1", port))


def test_same_seed_gives_the_same_world_to_serve() -> None:
    first, second = Sandbox(OPTIONS), Sandbox(OPTIONS)
    assert sorted(first.world.tickets) == sorted(second.world.tickets)
    assert [u.email for u in first.world.zendesk_users.values()] == [
        u.email for u in second.world.zendesk_users.values()
    ]


def test_nps_sandbox_prints_urls_and_a_config_then_stops() -> None:
    result = CliRunner().invoke(
        app, ["sandbox", "--customers", "10", "--seed", "3", "--seconds", "0.1"]
    )
    assert result.exit_code == 0, result.output
    assert "Zendesk  http://127.0.0.1:" in result.output
    assert "Shopify  http://127.0.0.1:" in result.output
    config = yaml.safe_load(
        result.output.split("Ctrl-C stops them):", 1)[1].split("sandbox stopped")[0]
    )
    assert config["zendesk"]["email"] == "agent@nps-sandbox.example"
    assert "sandbox stopped" in result.output


def test_nps_sandbox_can_inject_faults_into_every_simulator() -> None:
    args = ["sandbox", "--customers", "5", "--error-rate", "1", "--seconds", "0.1"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "faults: 100% 5xx" in result.output


def test_a_manual_clock_drives_every_simulator() -> None:
    clock = ManualClock(SANDBOX_NOW)
    options = SandboxOptions(customers=5, zendesk=ZendeskOptions(requests_per_minute=1))
    with Sandbox(options, clock=clock) as sandbox:
        assert sandbox.world.now == SANDBOX_NOW
        assert zendesk_get(sandbox, "/api/v2/users/me.json").ok
        assert zendesk_get(sandbox, "/api/v2/users/me.json").status_code == 429
        clock.advance(60)
        assert zendesk_get(sandbox, "/api/v2/users/me.json").ok


def test_the_config_can_point_survey_links_at_another_web_address(running: Sandbox) -> None:
    config = running.config(public_url="http://127.0.0.1:9123")
    assert config["web"]["public_url"] == "http://127.0.0.1:9123"


def test_emails_the_sandbox_receives_are_written_to_its_mail_folder(tmp_path: Path) -> None:
    from email.message import EmailMessage

    options = SandboxOptions(customers=5, seed=5, now=SANDBOX_NOW, shopify=False, mail_dir=tmp_path)
    with Sandbox(options) as sandbox:
        message = EmailMessage()
        message["From"], message["To"] = "shop@example.com", "Ann@Example.com"
        message["Subject"] = "How did we do?"
        message.set_content("https://nps.example/s/token/9")
        with smtplib.SMTP(sandbox.smtp.host, sandbox.smtp.port, timeout=5) as client:
            client.send_message(message)
        sandbox.smtp.wait_for(1)
    [written] = list(tmp_path.iterdir())
    assert written.name == "0001-to-Ann@Example.com.eml"
    assert b"https://nps.example/s/token/9" in written.read_bytes()


def test_nps_sandbox_prints_the_folder_of_the_emails(tmp_path: Path) -> None:
    mail = tmp_path / "mail"
    args = ["sandbox", "--customers", "5", "--mail-dir", str(mail), "--seconds", "0.1"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"Emails   {mail}" in result.output
