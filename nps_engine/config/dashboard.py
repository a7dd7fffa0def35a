"""``dashboard:``: the signed-in pages under ``/admin`` of ``nps serve``."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class DashboardSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    session_hours: Annotated[int, Field(ge=1, le=24 * 90)] = 12
    # Failed sign-ins allowed per account, and attempts per IP address, in 15 minutes.
    failed_sign_ins_per_account: Annotated[int, Field(ge=1, le=1000)] = 5
    sign_ins_per_ip: Annotated[int, Field(ge=1, le=10000)] = 20
    # How long a one-time sign-in link printed by `nps users add --link` works.
    link_minutes: Annotated[int, Field(ge=1, le=7 * 24 * 60)] = 60
    page_size: Annotated[int, Field(ge=10, le=500)] = 50
