"""The report's themes part: what customers talk about, next to the numbers. Added to the JSON
(``themes``), the table and the HTML page after they are rendered, so the report's own renderers
stay as they are. Reads the themes stored by ``nps themes`` (it computes nothing)."""

from __future__ import annotations

import html
import io
import json
from collections.abc import Mapping, Sequence

from rich.console import Console
from rich.table import Table

from jobs.theme_listing import ThemeListing, listing_json


def add_to_json(text: str, listings: Sequence[ThemeListing]) -> str:
    document = json.loads(text)
    by_store = {listing.store: listing_json(listing) for listing in listings}
    if "stores" in document:
        for store_document in document["stores"]:
            store_document["themes"] = by_store.get(store_document.get("store"))
    elif listings:
        document["themes"] = by_store[listings[0].store]
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def table_text(listings: Sequence[ThemeListing], width: int = 110) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None, highlight=False)
    for listing in listings:
        console.print(f"Comment themes · {listing.store}", style="bold", markup=False)
        if not listing.figures:
            console.print(_empty_text(listing), markup=False)
            continue
        console.print("Share of each segment's comments per theme", markup=False)
        table = Table(show_edge=False)
        short = [g.name.replace("_", " ") for g in listing.by_segment]
        for column in ("theme", "all", *short):
            table.add_column(column, overflow="fold")
        for figure in listing.figures:
            cells = [_share(listing, figure.theme_id, g.shares) for g in listing.by_segment]
            table.add_row(figure.label, f"{figure.share:.0%} (n={figure.size})", *cells)
        table.add_row("comments", str(sum(f.size for f in listing.figures)),
                      *(str(g.comments) for g in listing.by_segment))  # fmt: skip
        console.print(table)
        if listing.top:
            console.print(_monthly_table(listing))
    output = console.file
    assert isinstance(output, io.StringIO)
    return output.getvalue()


def add_to_html(page: str, listings: Sequence[ThemeListing]) -> str:
    sections = []
    for listing in listings:
        if not listing.figures:
            body = f"<p>{html.escape(_empty_text(listing))}</p>"
        else:
            heads = "".join(f"<th>{html.escape(c)}</th>" for c in _segment_columns(listing))
            rows = []
            for f in listing.figures:
                cells = "".join(
                    f"<td>{html.escape(_share(listing, f.theme_id, g.shares))}</td>"
                    for g in listing.by_segment
                )
                words = html.escape(", ".join(f.keywords))
                rows.append(
                    f"<tr><td><strong>{html.escape(f.label)}</strong><br><small>{words}</small>"
                    f"</td><td>{f.share:.0%} (n={f.size})</td>{cells}</tr>"
                )
            body = (
                "<p>Share of each group's comments in each theme.</p>"
                f"<table><tr><th>Theme</th><th>All comments</th>{heads}</tr>"
                f"{''.join(rows)}</table>{_monthly_html(listing)}"
            )
        sections.append(
            f'<section class="card"><h2>What customers talk about · '
            f"{html.escape(listing.store)}</h2>{body}</section>"
        )
    marker = "</body>"
    joined = "\n".join(sections)
    return page.replace(marker, joined + "\n" + marker, 1) if marker in page else page + joined


def _segment_columns(listing: ThemeListing) -> list[str]:
    return [listing.segment_labels.get(g.name, g.name) for g in listing.by_segment]


def _share(
    listing: ThemeListing,
    theme_id: int | None,
    shares: Mapping[int | None, tuple[float, tuple[float, float]]],
) -> str:
    value = shares.get(theme_id)
    return "–" if value is None else f"{value[0]:.0%}"


def _monthly_table(listing: ThemeListing) -> Table:
    names = {f.theme_id: f.label for f in listing.figures}
    table = Table(title="Top themes, share of the month's comments", show_edge=False)
    table.add_column("month")
    for theme_id in listing.top:
        table.add_column(names.get(theme_id, "Other"), overflow="fold")
    table.add_column("comments")
    for month in listing.by_month:
        if month.comments:
            cells = [f"{month.shares.get(t, (0.0,))[0]:.0%}" for t in listing.top]
            table.add_row(month.name, *cells, str(month.comments))
    return table


def _monthly_html(listing: ThemeListing) -> str:
    if not listing.top:
        return ""
    names = {f.theme_id: f.label for f in listing.figures}
    heads = "".join(f"<th>{html.escape(names.get(t, 'Other'))}</th>" for t in listing.top)
    rows = "".join(
        f"<tr><td>{m.name}</td>"
        + "".join(f"<td>{m.shares.get(t, (0.0,))[0]:.0%}</td>" for t in listing.top)
        + f"<td>{m.comments}</td></tr>"
        for m in listing.by_month
        if m.comments
    )
    return (
        "<h3>Top themes month by month</h3>"
        f"<table><tr><th>Month</th>{heads}<th>Comments</th></tr>{rows}</table>"
    )


def _empty_text(listing: ThemeListing) -> str:
    if listing.comments:
        return f"{listing.comments} comments not grouped yet: run `nps themes`."
    # Two lines: the report's text stays within 80 columns when piped.
    return "No themed comments in this period:\nrun `nps themes` once customers write comments."
