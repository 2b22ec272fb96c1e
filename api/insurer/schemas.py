"""Upload row models at the HTTP edge."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class EnrollmentUpload(BaseModel):
    """One member's enrollment in a product for a plan year."""

    member_id: str = Field(min_length=1, max_length=128)
    product_id: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9-]+$")
    plan_year: int = Field(ge=2000, le=2100)
    enrolled_on: date
