"""Signing an order needs the physician's password again, checked by the use case itself:
no adapter can sign without it (issue 18, orders)."""

from __future__ import annotations

import pytest

from msinfusion.application.records import OrderStatus, Role
from msinfusion.errors import AuthenticationFailed, PermissionDenied
from tests.e2e.api.world import COURSE_START, PASSWORD, World, actor_for, build_world


@pytest.fixture
def world() -> World:
    return build_world()


def _draft(world: World) -> str:
    physician = actor_for(world, Role.PHYSICIAN)
    order = world.centre.records.add_order(
        physician,
        patient_id=world.ids["patient"],
        therapy_id="ocrelizumab",
        start_date=COURSE_START,
        draft=True,
    )
    assert order.status is OrderStatus.DRAFT
    return order.id


def test_a_wrong_or_missing_password_signs_nothing_and_is_audited(world: World) -> None:
    order_id = _draft(world)
    physician = actor_for(world, Role.PHYSICIAN)
    for typed in ("", "not-the-password"):
        with pytest.raises(AuthenticationFailed) as refused:
            world.centre.records.sign_order(physician, order_id, password=typed)
        assert refused.value.field == "password"
    with world.uow_factory() as uow:
        assert uow.orders.get(order_id).status is OrderStatus.DRAFT
        denied = [e for e in uow.audit.list() if e.action == "order.sign"]
    assert [e.outcome for e in denied] == ["denied", "denied"]
    signed = world.centre.records.sign_order(physician, order_id, password=PASSWORD)
    assert (signed.status, signed.signed_by) == (OrderStatus.SIGNED, physician.user_id)


def test_a_nurse_cannot_sign_even_with_her_password(world: World) -> None:
    order_id = _draft(world)
    with pytest.raises(PermissionDenied):
        world.centre.records.sign_order(actor_for(world, Role.NURSE), order_id, password=PASSWORD)
