"""``nps report --format json``: the contract documented in docs/report.md.

One store gives exactly the contract object; several give ``{"stores": [object, ...]}`` with each
object naming its ``store``, so a script can tell which is which.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from nps_engine.report import Report
from nps_engine.report_json import report_json


def render_json(reports: Sequence[Report]) -> str:
    if len(reports) == 1:
        document: object = report_json(reports[0])
    else:
        document = {"stores": [report_json(report) for report in reports]}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
