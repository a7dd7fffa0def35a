"""``nps setup zendesk``: create the NPS user fields agents see on the customer's profile.

Creating user fields is for admins only (``POST /api/v2/user_fields``, 403 otherwise,
https://developer.zendesk.com/api-reference/ticketing/users/user_fields/). Fields that exist are
left alone, so running it twice is harmless. Without the fields the tag writer still pushes tags.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from zenpy.lib.api_objects import UserField

from connectors.zendesk.client import ZendeskClient
from connectors.zendesk.errors import ZendeskAuthenticationError

# key -> (type, title, description)
USER_FIELDS = {
    "nps_score": ("integer", "NPS score", "Latest answer to 'How likely are you to recommend us?'"),
    "nps_category": ("text", "NPS category", "promoter (9-10), passive (7-8) or detractor (0-6)"),
    "nps_responded_at": ("date", "NPS answered on", "Day of the latest NPS answer"),
}


@dataclass
class SetupReport:
    existing: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    # Why nothing could be created (e.g. the token's user is not an admin), or None.
    refused: str | None = None

    @property
    def complete(self) -> bool:
        return len(self.existing) + len(self.created) == len(USER_FIELDS)


def ensure_user_fields(client: ZendeskClient) -> SetupReport:
    """Create whichever NPS user fields the account lacks; report what it found and did."""
    report = SetupReport()
    keys = set(client.call("list user fields", lambda z: [f.key for f in z.user_fields()]))
    report.existing = [key for key in USER_FIELDS if key in keys]
    for key, (kind, title, description) in USER_FIELDS.items():
        if key in keys:
            continue
        try:
            _create_field(client, key, kind, title, description)
        except ZendeskAuthenticationError as error:
            if error.status != 403:
                raise
            report.refused = (
                "the API token's user may not create user fields (admins only); "
                "ask an admin to run `nps setup zendesk` or create them in Admin Center"
            )
            break
        report.created.append(key)
    return report


def _create_field(client: ZendeskClient, key: str, kind: str, title: str, description: str) -> None:
    new = UserField(key=key, type=kind, title=title, description=description, active=True)
    client.call(f"create user field {key}", lambda z: z.user_fields.create(new))
