"""Every port of ``nps_engine/ports.py`` has a fake in ``tests/fakes.py`` that matches it method
by method, and a fast test that uses it: a port without one would only be reachable end to end."""

from __future__ import annotations

import inspect
from pathlib import Path

import fakes
import pytest

from nps_engine import ports

TESTS = Path(__file__).resolve().parents[1]
# Rings that run without simulators, servers or a browser.
FAST_RINGS = ("unit", "jobs", "web", "store", "contract", "cli")

PORTS = sorted(
    (
        value
        for value in vars(ports).values()
        if inspect.isclass(value)
        and getattr(value, "_is_protocol", False)
        and value.__module__ == ports.__name__
    ),
    key=lambda port: port.__name__,
)


def methods_of(port: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in vars(port).items()
        if callable(member) and not name.startswith("_")
    }


def test_the_ports_module_is_read() -> None:
    assert len(PORTS) >= 8
    assert {p.__name__ for p in PORTS} >= {"OrderSource", "SurveyMailer", "ShopifyWebhookReader"}


@pytest.mark.parametrize("port", PORTS, ids=lambda port: port.__name__)
def test_every_port_has_a_fake_with_the_same_methods(port: type) -> None:
    fake = getattr(fakes, f"Fake{port.__name__}", None)
    assert fake is not None, f"tests/fakes.py has no Fake{port.__name__}"
    for name, signature in methods_of(port).items():
        assert hasattr(fake, name), f"Fake{port.__name__} lacks {name}()"
        theirs = [p for p in inspect.signature(getattr(fake, name)).parameters if p != "self"]
        ours = [p for p in signature.parameters if p != "self"]
        assert theirs == ours, f"Fake{port.__name__}.{name}{theirs} is not {name}{ours}"


@pytest.mark.parametrize("port", PORTS, ids=lambda port: port.__name__)
def test_every_fake_is_used_by_a_fast_test(port: type) -> None:
    name = f"Fake{port.__name__}"
    users = [
        file
        for ring in FAST_RINGS
        for file in (TESTS / ring).rglob("test_*.py")
        if file.name != "test_fakes.py" and name in file.read_text(encoding="utf-8")
    ]
    assert users, f"no fast test uses {name}"
