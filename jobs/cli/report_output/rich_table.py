"""``nps report`` in the terminal: the headline, a table of segments against the rest, the
plain-language lines and the monthly trend."""

from __future__ import annotations

import io
from collections.abc import Sequence

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from nps_engine.report import Report, figure_text, p_text
from nps_engine.statistics import NpsFigure


def render_table(reports: Sequence[Report]) -> str:
    """Plain text of :func:`report_renderable` (for ``--output``)."""
    console = Console(file=io.StringIO(), width=110, color_system=None, highlight=False)
    for report in reports:
        console.print(report_renderable(report))
    output = console.file
    assert isinstance(output, io.StringIO)
    return output.getvalue()


def report_renderable(report: Report) -> RenderableType:
    period = report.period
    title = Text.assemble(
        (f"NPS report · {report.store}", "bold"),
        f"  {period.since} to {period.until} ({period.timezone}) · {report.kind.value} survey · "
        f"{_basis_text(report)}",
    )
    if report.empty:
        return Group(title, Text("No answers in this period.", style="yellow"), Text())
    parts: list[RenderableType] = [title, _headline(report.overall), Text()]
    if report.segments:
        parts += [_segments(report), *(_summary_line(r.summary) for r in report.segments), Text()]
    parts += [_trend(report), Text()]
    return Group(*parts)


def _basis_text(report: Report) -> str:
    if report.basis == "customers":
        return "latest answer per customer"
    return "every answer"


def _headline(overall: NpsFigure) -> Text:
    low, high = overall.ci95 or (0.0, 0.0)
    tally = overall.tally
    text = Text.assemble(
        "\nNPS ",
        (f"{overall.nps:.0f}" if overall.nps is not None else "n/a", "bold"),
        f"  95% interval {low:.0f} to {high:.0f}  ·  n={overall.n} "
        f"({tally.promoters} promoters, {tally.passives} passives, {tally.detractors} detractors)",
    )
    if overall.small_sample:
        text.append("  small sample", style="yellow")
    return text


def _segments(report: Report) -> Table:
    table = Table(title="Segments against the rest", title_justify="left", expand=False)
    for header in ("segment", "n", "NPS (95%)", "rest n", "rest NPS", "diff", "p"):
        left = header == "segment"
        table.add_column(header, justify="left" if left else "right", no_wrap=not left)
    for result in report.segments:
        comparison = result.comparison
        difference = comparison.difference
        table.add_row(
            result.label,
            _n_text(result.figure),
            _cell(result.figure),
            str(comparison.rest.n),
            _cell(comparison.rest),
            "" if difference is None else f"{difference:+.0f}",
            "" if comparison.p_value is None else p_text(comparison.p_value)[1:].lstrip("="),
        )
    return table


def _summary_line(summary: str) -> Text:
    return Text(f"• {summary}")


def _trend(report: Report) -> Table:
    table = Table(title="Month by month", title_justify="left")
    for header in ("month", "n", "NPS (95%)"):
        table.add_column(header, justify="left" if header == "month" else "right")
    for month in report.trend:
        table.add_row(month.month, _n_text(month.figure), _cell(month.figure))
    return table


def _cell(figure: NpsFigure) -> str:
    """``-66 ±7``, or ``-100 (-100 to -43)`` when the interval is lopsided (see figure_text)."""
    text = figure_text(figure)
    return text.replace(" (+/-", " ±").removesuffix(")") if "+/-" in text else text


def _n_text(figure: NpsFigure) -> Text:
    if figure.n and figure.small_sample:
        return Text(f"{figure.n} (small)", style="yellow")
    return Text(str(figure.n))
