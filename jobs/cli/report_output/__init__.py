"""How a report leaves the program: a rich table, JSON, CSV or one self-contained HTML file.

Every renderer takes the reports of the stores in the configuration (usually one) and returns
text; the CLI decides whether it goes to the terminal or to ``--output``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

from jobs.cli.report_output.csv_rows import render_csv
from jobs.cli.report_output.json_document import render_json
from jobs.cli.report_output.rich_table import render_table
from nps_engine.report import Report


def render_html(reports: Sequence[Report]) -> str:
    """The HTML page (Jinja2 is imported only when a page is asked for)."""
    from jobs.cli.report_output.html_page import render_html as render_page

    return render_page(reports)


Format = Literal["table", "json", "csv", "html"]

RENDERERS: dict[str, Callable[[Sequence[Report]], str]] = {
    "table": render_table,
    "json": render_json,
    "csv": render_csv,
    "html": render_html,
}

__all__ = ["RENDERERS", "Format", "render_csv", "render_html", "render_json", "render_table"]
