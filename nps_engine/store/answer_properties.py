"""The properties imported answers came with (Delighted's Notes, Tags and property columns), read
for the custom segments that look at them (``{property: {plan: pro}}``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select

from nps_engine.records import SurveyKind
from nps_engine.store.database import Database
from nps_engine.store.models import Response


def answer_properties(
    database: Database, store: str, kind: SurveyKind, start: datetime, end: datetime
) -> dict[int, Mapping[str, str]]:
    """Properties of the answers of ``kind`` in ``[start, end)``, by answer id, names and values
    lowercase (segments compare them case-insensitively). Read apart from the report's facts, so
    reports whose segments do not use them pay nothing."""
    r = Response
    query = select(r.id, r.properties).where(
        r.store == store,
        r.kind == kind.value,
        r.responded_at >= start,
        r.responded_at < end,
        r.properties.is_not(None),
    )
    with database.session() as session:
        return {
            answer_id: {str(k).strip().lower(): str(v).strip().lower() for k, v in found.items()}
            for answer_id, found in session.execute(query)
            if isinstance(found, dict)
        }
