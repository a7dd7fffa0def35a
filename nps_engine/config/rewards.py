"""``rewards:``: thanking promoters with a single-use discount code (off by default).

rewards:
  promoter_discount:
    enabled: true
    percentage: 10          # or fixed_amount: 5.00 (in the shop's currency), not both
    validity_days: 30
    minimum_order: 40.00    # optional minimum subtotal
    thank_you_email: true
"""

from decimal import Decimal
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Section(BaseModel):
    # Like every settings model: frozen, unknown keys refused.
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class PromoterDiscount(_Section):
    enabled: bool = False
    # Exactly one of the two when enabled: a share of the order, or an amount off it.
    percentage: Annotated[Decimal, Field(gt=0, le=100)] | None = None
    fixed_amount: Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=2)] | None = None
    validity_days: Annotated[int, Field(ge=1, le=365)] = 30
    minimum_order: Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=2)] | None = None
    # The discount's name in the Shopify admin (customers see the code, not this).
    title: Annotated[str, Field(min_length=1, max_length=255)] = "NPS thank-you"
    # Codes read THANKS-XXXXXXXXXX: a prefix of capital letters and digits.
    code_prefix: Annotated[str, Field(pattern=r"^[A-Z0-9]{1,12}$")] = "THANKS"
    # Also send the code by email, in the customer's language, once it exists.
    thank_you_email: bool = False
    # Answers older than this get no code (a first run after enabling does not reward history).
    max_age_days: Annotated[int, Field(ge=1, le=365)] = 14

    @model_validator(mode="after")
    def _one_value(self) -> Self:
        if self.percentage is not None and self.fixed_amount is not None:
            raise ValueError("set either 'percentage' or 'fixed_amount', not both")
        if self.enabled and self.percentage is None and self.fixed_amount is None:
            raise ValueError("set 'percentage' or 'fixed_amount' to enable the reward")
        return self


class RewardSettings(_Section):
    promoter_discount: PromoterDiscount = Field(default_factory=PromoterDiscount.model_construct)
