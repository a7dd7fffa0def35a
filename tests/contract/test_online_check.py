"""``nps check --online`` against the simulators: every system answers, and a bad token is named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from jobs.cli.app import app
from sandbox.runner import Sandbox, SandboxOptions


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    with Sandbox(SandboxOptions(customers=20, seed=3)) as running:
        yield running


def _config(tmp_path: Path, sandbox: Sandbox, **changes: dict[str, str]) -> Path:
    document = sandbox.config(database_url=f"sqlite:///{tmp_path / 'nps.db'}")
    for section, values in changes.items():
        document[section] |= values
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_every_configured_system_is_reached(tmp_path: Path, sandbox: Sandbox) -> None:
    result = CliRunner().invoke(app, ["--config", str(_config(tmp_path, sandbox)), "check",
                                      "--online"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "shopify: ok" in result.output
    assert "zendesk: ok" in result.output
    assert "smtp: ok" in result.output


def test_a_refused_shopify_token_fails_the_check_without_printing_it(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    config = _config(tmp_path, sandbox, shopify={"access_token": "shpat_wrong_token_123"})
    result = CliRunner().invoke(app, ["--config", str(config), "check", "--online"])
    assert result.exit_code == 1
    assert "shopify: FAILED" in result.output
    assert "shpat_wrong_token_123" not in result.output
    assert "zendesk: ok" in result.output  # the other systems are still checked


def test_unreachable_shopify_and_zendesk_name_the_host_and_the_cause(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    import socket

    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    config = _config(
        tmp_path,
        sandbox,
        shopify={"api_base_url": f"http://127.0.0.1:{port}"},
        zendesk={"base_url": f"http://127.0.0.1:{port}"},
    )
    result = CliRunner().invoke(app, ["--config", str(config), "check", "--online"])
    assert result.exit_code == 1
    for system in ("shopify", "zendesk"):
        [line] = [x for x in result.output.splitlines() if f"{system}: FAILED" in x]
        assert f"127.0.0.1:{port}: Connection refused" in line, line
    assert "smtp: ok" in result.output
