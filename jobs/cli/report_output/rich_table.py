"""``nps report`` in the terminal: the headline, a table of segments against the rest, the
plain-language lines and the monthly trend."""

from __future__ import annotations

import io
from collections.abc import Sequence

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

from nps_engine.report import Report
from nps_engine.report_said import Said
from nps_engine.report_text import figure_text, p_text
from nps_engine.statistics import INTERVAL_RULE, NpsFigure

# Below this width the segment tables would squeeze their labels ("Cu…"): each segment is then
# written as a short block of lines instead (80-column terminals, cron mail, `> file`).
WIDE_ENOUGH = 100
COMMENT_CHARS = 160


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
        parts += [_Segments(report), *(_summary_line(r.summary) for r in report.segments), Text()]
    parts += [_trend(report), Text()]
    if report.segments:
        parts += [_SegmentMonths(report), Text()]
    if report.changes:
        parts += [Text("Change over time", style="italic")]
        parts += [_summary_line(change.summary) for change in report.changes]
        parts += [Text()]
    if report.said is not None:
        parts += [_said(report.said), Text()]
    parts += [_footer(report), Text()]
    return Group(*parts)


class _Segments:
    """The segments table when it fits, else one stacked block per segment."""

    def __init__(self, report: Report) -> None:
        self.report = report

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if options.max_width >= WIDE_ENOUGH:
            yield _segments(self.report)
            return
        yield Text("Segments against the rest", style="italic")
        for result in self.report.segments:
            comparison = result.comparison
            line = f"  n={result.figure.n} · NPS {_cell(result.figure)}"
            line += f" · rest n={comparison.rest.n}, NPS {_cell(comparison.rest)}"
            if result.difference is not None:
                line += f" · diff {result.difference:+.0f}"
            if result.p_adjusted is not None:
                line += f" · adj {p_text(result.p_adjusted)}"
            yield Text(result.label, style="bold")
            yield Text(line)


class _SegmentMonths:
    """The segments-by-month table when it fits, else each segment's months as wrapped text."""

    def __init__(self, report: Report) -> None:
        self.report = report

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        report = self.report
        wide = WIDE_ENOUGH + 14 * max(0, len(report.segments) - 3)
        if options.max_width >= wide:
            yield _segment_months(report)
            return
        yield Text("Segments month by month (segment NPS/n · rest NPS)", style="italic")
        for result in report.segments:
            cells = []
            for month, point in zip(report.trend, result.trend, strict=False):
                inside = point.rolling_segment if report.rolling else point.segment
                rest = point.rolling_rest if report.rolling else point.rest
                cells.append(f"{month.month} {_compact(inside, rest)}")
            yield Text(result.label, style="bold")
            yield Text("  " + " | ".join(cells))


def _said(said: Said) -> Group:
    """What customers wrote, newest first, per group; printed as plain text, never as markup."""
    lines: list[RenderableType] = [Text("What they said", style="bold")]
    if not said.complete:
        lines.append(Text("(segment counts are of the most recent comments only)", style="italic"))
    for group in said.groups:
        partial = not said.complete and group.name != "everyone"
        count = f"{group.comments}{'+' if partial else ''}"
        noun = "comment" if group.comments == 1 else "comments"
        lines.append(Text(f"{group.label}: {count} {noun}", style="underline"))
        for comment in group.latest:
            text = " ".join(comment.text.split())
            if len(text) > COMMENT_CHARS:
                text = text[: COMMENT_CHARS - 1] + "…"
            lines.append(Text(f"  {comment.responded_at:%Y-%m-%d} {comment.score:>2}/10  {text}"))
    return Group(*lines)


def _footer(report: Report) -> Text:
    return Text(
        f"{INTERVAL_RULE} p-values are Holm-adjusted for the tests in this report (raw ones in "
        f"the JSON); no comparison under {report.options.min_compare_n} answers a side, nor for "
        "a segment defined by the score.",
        style="dim",
    )


def _segment_months(report: Report) -> Table:
    """Compact: one row per month, one column per segment, ``NPS/n`` of the segment against the
    rest's NPS (the rolling window's when the report uses one)."""
    title = "Segments month by month (segment NPS/n · rest NPS)"
    if report.rolling:
        title += f", rolling {report.options.window_months}-month window"
    table = Table(title=title, title_justify="left")
    table.add_column("month")
    for result in report.segments:
        table.add_column(result.label, justify="right")
    for index, month in enumerate(report.trend):
        cells = []
        for result in report.segments:
            point = result.trend[index]
            inside = point.rolling_segment if report.rolling else point.segment
            rest = point.rolling_rest if report.rolling else point.rest
            cells.append(_compact(inside, rest))
        table.add_row(month.month, *cells)
    return table


def _compact(inside: NpsFigure | None, rest: NpsFigure | None) -> str:
    if inside is None or inside.nps is None:
        return "–"
    text = f"{inside.nps:.0f}/{inside.n}"
    if rest is not None and rest.nps is not None:
        text += f" · {rest.nps:.0f}"
    return text


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
    # "adj p": Holm-adjusted (the footer says so); "–" where no test is shown (the line below
    # the table says why)
    for header in ("segment", "n", "NPS (95%)", "rest n", "rest NPS", "diff", "adj p"):
        left = header == "segment"
        table.add_column(
            header,
            justify="left" if left else "right",
            no_wrap=not left,
            min_width=18 if left else None,
        )
    for result in report.segments:
        comparison = result.comparison
        difference, p_adjusted = result.difference, result.p_adjusted
        table.add_row(
            result.label,
            _n_text(result.figure),
            _cell(result.figure),
            str(comparison.rest.n),
            _cell(comparison.rest),
            "" if difference is None else f"{difference:+.0f}",
            ("–" if not result.comparable else "")
            if p_adjusted is None
            else p_text(p_adjusted)[1:].lstrip("="),
        )
    return table


def _summary_line(summary: str) -> Text:
    return Text(f"• {summary}")


def _trend(report: Report) -> Table:
    table = Table(title="Month by month", title_justify="left")
    headers = ["month", "n", "NPS (95%)"]
    if report.rolling:
        headers += [
            f"{report.options.window_months}-month n",
            f"{report.options.window_months}-month NPS",
        ]
    for header in headers:
        table.add_column(header, justify="left" if header == "month" else "right")
    for month in report.trend:
        cells: list[str | Text] = [month.month, _n_text(month.figure), _cell(month.figure)]
        if month.rolling is not None:
            cells += [_n_text(month.rolling), _cell(month.rolling)]
        table.add_row(*cells)
    return table


def _cell(figure: NpsFigure) -> str:
    """``-66 ±7``, or ``-100 (-100 to -43)`` when the interval is lopsided (see figure_text)."""
    text = figure_text(figure)
    return text.replace(" (+/-", " ±").removesuffix(")") if "+/-" in text else text


def _n_text(figure: NpsFigure) -> Text:
    if figure.n and figure.small_sample:
        return Text(f"{figure.n} (small)", style="yellow")
    return Text(str(figure.n))
