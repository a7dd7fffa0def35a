"""The dependency direction of docs/architecture.md, checked over the import graph of the source.

Every ``import`` of every module (at the top, inside functions, under ``TYPE_CHECKING``: a type
import is a dependency too) is read with ``ast``, nothing is executed. A rule names who may not
import what; the test lists every breach as ``module -> imported (rule)``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("connectors", "nps_engine", "jobs", "sandbox")

# The pure engine: frozen values and `now` in, values out. No store, web, config, files or clock.
PURE = frozenset(
    f"nps_engine.{name}"
    for name in (
        "alert_messages",
        "answer_counts",
        "bayes",
        "eligibility",
        "invite_tokens",
        "multiple_tests",
        "periods",
        "port_values",
        "ports",
        "records",
        "report",
        "report_json",
        "report_said",
        "report_text",
        "response_export",
        "response_filters",
        "response_view",
        "scoring",
        "segment_rules",
        "segments",
        "shop_events",
        "statistics",
        "survey_texts",
        "tag_plan",
        "theme_clusters",
        "theme_keywords",
        "theme_summary",
        "vocabulary",
    )
)
# What a pure module may not reach for even from the standard library or PyPI: files, the
# environment, databases, HTTP, YAML.
IMPURE_LIBRARIES = ("os", "pathlib", "yaml", "sqlalchemy", "starlette", "requests", "jinja2")
# The commands that run the simulators on purpose.
SANDBOX_USERS = frozenset({"jobs.cli.demo_year", "jobs.cli.commands.sandbox"})


@dataclass(frozen=True, slots=True)
class Breach:
    module: str
    imported: str
    rule: str

    def __str__(self) -> str:
        return f"{self.module} -> {self.imported} ({self.rule})"


def _within(name: str, *prefixes: str) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def module_name(root: Path, file: Path) -> str:
    parts = list(file.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(name: str, file: Path) -> Iterator[str]:
    """Every module ``file`` imports, absolute (relative imports resolved against ``name``)."""
    is_package = file.name == "__init__.py"
    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"), filename=str(file))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                origin = ".".join([*base, node.module] if node.module else base)
            else:
                origin = node.module or ""
            yield origin
            # `from nps_engine.config import loading` imports the submodule too.
            yield from (f"{origin}.{alias.name}" for alias in node.names)


def breaches_of(name: str, imported: str) -> Iterator[Breach]:
    if _within(name, "nps_engine") and _within(imported, "connectors", "jobs", "sandbox"):
        yield Breach(name, imported, "nothing under nps_engine imports connectors, jobs or sandbox")
    if name in PURE:
        pure = imported == "nps_engine" or _within(imported, *PURE)
        if _within(imported, "nps_engine") and not pure:
            yield Breach(name, imported, "a pure engine module imports only pure engine modules")
        if _within(imported, *IMPURE_LIBRARIES):
            yield Breach(name, imported, "a pure engine module reads no file, environment or I/O")
    if _within(name, "connectors") and _within(
        imported, "jobs", "sandbox", "nps_engine.store", "nps_engine.web", "nps_engine.config"
    ):
        yield Breach(
            name, imported, "connectors take plain values: no jobs, sandbox, store, web, config"
        )
    if _within(name, "jobs.runtime") and _within(imported, "jobs.cli"):
        yield Breach(name, imported, "the runtime does not import the command line")
    if _within(imported, "sandbox") and not _within(name, "sandbox") and name not in SANDBOX_USERS:
        yield Breach(name, imported, "only the demo and sandbox commands run the simulators")


def check(root: Path, packages: tuple[str, ...] = PACKAGES) -> list[Breach]:
    found: list[Breach] = []
    for package in packages:
        for file in sorted((root / package).rglob("*.py")):
            if "migrations" in file.parts:
                continue
            name = module_name(root, file)
            for imported in set(imports_of(name, file)):
                found.extend(breaches_of(name, imported))
    # `from a.b import C` breaks a rule once, not once for `a.b` and again for `a.b.C`.
    return sorted(
        (
            breach
            for breach in set(found)
            if not any(
                other.module == breach.module
                and other.rule == breach.rule
                and breach.imported.startswith(other.imported + ".")
                for other in found
            )
        ),
        key=str,
    )


def test_the_dependency_direction_holds() -> None:
    assert [str(breach) for breach in check(ROOT)] == []


def test_every_pure_module_exists() -> None:
    """A renamed pure module must be renamed here too, or the rules above stop covering it."""
    missing = [name for name in PURE if not (ROOT / (name.replace(".", "/") + ".py")).is_file()]
    assert missing == []


def write(root: Path, name: str, source: str) -> None:
    file = root / (name.replace(".", "/") + ".py")
    for parent in reversed(file.relative_to(root).parents[:-1]):
        (root / parent).mkdir(exist_ok=True)
        (root / parent / "__init__.py").touch()
    file.write_text(source, encoding="utf-8")


@pytest.mark.parametrize(
    ("module", "source", "rule"),
    [
        ("nps_engine.web.app", "from connectors.email import SmtpMailer\n", "nothing under"),
        ("nps_engine.store.x", "def f():\n    import jobs.bootstrap\n", "nothing under"),
        ("nps_engine.eligibility", "from nps_engine.config import loading\n", "pure engine"),
        ("nps_engine.segments", "from nps_engine.config.settings import X\n", "pure engine"),
        ("nps_engine.tag_plan", "from nps_engine.store.models import Response\n", "pure engine"),
        ("nps_engine.survey_texts", "from pathlib import Path\n", "reads no file"),
        ("nps_engine.survey_texts", "import yaml\n", "reads no file"),
        ("nps_engine.scoring", "from .web import app\n", "pure engine"),
        (
            "connectors.email.smtp",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from nps_engine.config.settings import EmailSettings\n",
            "plain values",
        ),
        ("connectors.shopify.client", "from jobs import bootstrap\n", "plain values"),
        ("jobs.runtime.scheduler", "from jobs.cli.report_output import RENDERERS\n", "runtime"),
        ("jobs.runtime.runner", "from ..cli import console\n", "runtime"),
        ("jobs.sync_shopify", "from sandbox.clock import ManualClock\n", "simulators"),
    ],
)
def test_the_checker_finds_a_planted_violation(
    tmp_path: Path, module: str, source: str, rule: str
) -> None:
    write(tmp_path, module, source)
    found = check(tmp_path)
    assert found, f"{module}: {source!r} was not caught"
    assert any(rule in breach.rule for breach in found), [str(b) for b in found]


def test_the_checker_accepts_the_allowed_directions(tmp_path: Path) -> None:
    write(tmp_path, "jobs.send_surveys", "from connectors.email.errors import SmtpDeferred\n")
    write(tmp_path, "jobs.cli.demo_year", "from sandbox.runner import Sandbox\n")
    write(tmp_path, "connectors.shopify.source", "from nps_engine.ports import OrderSource\n")
    write(tmp_path, "nps_engine.store.status", "from nps_engine.config.settings import Settings\n")
    write(tmp_path, "nps_engine.eligibility", "from nps_engine.records import Order\n")
    write(tmp_path, "nps_engine.statistics", "from . import scoring\nimport math\n")
    write(tmp_path, "jobs.runtime.scheduler", "from jobs.runtime.runner import run_job\n")
    assert check(tmp_path) == []


def test_importing_the_pure_engine_loads_no_config_loader_nor_yaml() -> None:
    """The static rules above, confirmed at run time in a fresh interpreter."""
    program = (
        "import sys\n"
        f"for name in {sorted(PURE)!r}:\n"
        "    __import__(name)\n"
        "print(sorted(m for m in ('nps_engine.config', 'nps_engine.config.loading', 'yaml',"
        " 'sqlalchemy', 'nps_engine.store') if m in sys.modules))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert run.stdout.strip() == "[]"


def test_importing_a_config_model_does_not_load_the_yaml_loader() -> None:
    program = (
        "import sys\n"
        "from nps_engine.config.settings import SurveySettings\n"
        "from nps_engine.config import Settings\n"
        "assert 'nps_engine.config.loading' not in sys.modules, 'loader imported eagerly'\n"
        "from nps_engine.config import ConfigError\n"
        "assert ConfigError.__module__ == 'nps_engine.config.loading'\n"
    )
    subprocess.run([sys.executable, "-c", program], check=True, cwd=ROOT)


# The report pipeline's rework shrinks this one (its fact query); nothing else may grow past 400.
TOO_LONG_FOR_NOW = frozenset({"nps_engine/store/report_facts.py"})


def test_no_module_is_over_400_lines() -> None:
    long = [
        f"{file.relative_to(ROOT)}: {lines} lines"
        for package in PACKAGES
        for file in sorted((ROOT / package).rglob("*.py"))
        if (lines := len(file.read_text(encoding="utf-8").splitlines())) > 400
        and str(file.relative_to(ROOT)) not in TOO_LONG_FOR_NOW
    ]
    assert long == []
