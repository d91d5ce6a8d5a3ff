"""The pages of the centre's day besides the chair board: registration, orders, booking and
administration, in one router (included before the patient page's ``/patients/{id}``)."""

from __future__ import annotations

from fastapi import APIRouter

from msinfusion.adapters.web.ui import admin_pages, booking_page, orders_page, registration

router = APIRouter(include_in_schema=False)
for module in (registration, orders_page, booking_page, admin_pages):
    router.include_router(module.router)
