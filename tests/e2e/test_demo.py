"""``nps demo``, the README's first command: the whole loop on the simulators, small size."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from jobs.cli.app import app
from nps_engine.store import models
from nps_engine.store.database import Database


def test_demo_prints_the_nps_table_what_it_wrote_back_and_the_html_report(
    tmp_path: Path,
) -> None:
    workdir = tmp_path / "demo"
    result = CliRunner().invoke(
        app, ["demo", "--customers", "120", "--weeks", "8", "--workdir", str(workdir)]
    )
    assert result.exit_code == 0, result.output
    output = result.output
    assert re.search(r"world: 120 customers, \d+ orders", output)
    assert re.search(r"surveys: [1-9]\d* emails sent over 8 weeks, [1-9]\d* answered", output)
    assert "NPS" in output
    assert "Month by month" in output
    written = re.search(
        r"written back: (\d+) Shopify customers tagged .*?, (\d+) Zendesk users and (\d+) open "
        r"tickets tagged .*?, (\d+) detractor follow-up tickets opened",
        output,
        re.DOTALL,
    )
    assert written, output
    shopify_customers, zendesk_users = int(written.group(1)), int(written.group(2))
    assert shopify_customers > 0
    assert zendesk_users > 0
    # What it says it wrote is what the store recorded as pushed.
    database = Database(f"sqlite:///{workdir / 'nps.db'}")
    try:
        with database.session() as session:
            pushed = session.scalar(
                select(func.count())
                .select_from(models.TagState)
                .where(models.TagState.system == "shopify", models.TagState.pushed_at.is_not(None))
            )
            answering = session.scalar(
                select(func.count(func.distinct(models.Response.customer_id)))
            )
            promoters = session.scalar(
                select(func.count()).select_from(models.Response).where(models.Response.score >= 9)
            )
            rewarded = session.scalar(
                select(func.count())
                .select_from(models.PromoterReward)
                .where(models.PromoterReward.state == "created")
            )
    finally:
        database.dispose()
    assert shopify_customers == pushed == answering
    # Connected as a Dev Dashboard app; every promoter answer got its one thank-you code.
    codes = re.search(r"(\d+) promoter thank-you codes created", output)
    assert codes, output
    assert int(codes.group(1)) == promoters == rewarded > 0
    report = re.search(r"HTML report: (\S+)", output)
    assert report, output
    html = Path(report.group(1))
    assert html.parent == workdir
    assert "NPS" in html.read_text(encoding="utf-8")
