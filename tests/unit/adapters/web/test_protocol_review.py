"""Protocol pages flag a review date that has passed on the centre's clock (issue 18).

Every shipped protocol and therapy file is due for review on 2026-11-25: before that day
nothing is flagged; on 2026-11-26 the list and the page say "review overdue since 2026-11-25".
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from msinfusion.application.records import Role
from tests.e2e.api.world import World, build_world
from tests.unit.adapters.web.test_ui_routes import sign_in

PROTOCOL = "ocrelizumab-600-standard"


@pytest.fixture
def world() -> World:
    return build_world(clinical=False)


def test_before_the_review_date_nothing_is_flagged(world: World) -> None:
    world.clock.now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # the review day itself
    sign_in(world, Role.PHARMACIST)
    assert "review overdue" not in world.client.get("/protocols").text
    assert "review overdue" not in world.client.get(f"/protocols/{PROTOCOL}").text


def test_after_the_review_date_the_list_and_the_page_say_since_when(world: World) -> None:
    world.clock.now = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    sign_in(world, Role.PHARMACIST)
    listing = world.client.get("/protocols").text
    assert listing.count("review overdue since 2026-11-25") >= 10  # every shipped protocol
    page = world.client.get(f"/protocols/{PROTOCOL}").text
    assert 'data-testid="review-overdue"' in page
    assert "review overdue since 2026-11-25" in page
    assert "therapy file's review is overdue since 2026-11-25" in page
