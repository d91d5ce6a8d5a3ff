"""The pages of the centre's day besides the chair board: registration, orders, booking and
administration, in one router (included before the patient page's ``/patients/{id}``)."""

from __future__ import annotations

from fastapi import APIRouter

from msinfusion.adapters.web.ui import (
    admin_pages,
    booking_page,
    booking_series,
    day_plan_apply,
    orders_page,
    registration,
)

router = APIRouter(include_in_schema=False)
for module in (
    registration,
    orders_page,
    booking_series,
    booking_page,
    admin_pages,
    day_plan_apply,
):
    router.include_router(module.router)
