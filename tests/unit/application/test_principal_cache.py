"""The bearer token → principal cache: a revoked token stops working within 5 s.

Two centres on one store stand for two server processes. The cache's clock is a fake
monotonic clock, so the bound is checked exactly, not by sleeping.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from msinfusion.adapters.web import Settings
from msinfusion.adapters.web.passwords import Argon2Hasher
from msinfusion.application.accounts import Principal
from msinfusion.application.centre import Centre
from msinfusion.application.principal_cache import TOKEN_CACHE_SECONDS, PrincipalCache
from msinfusion.application.records import Role
from msinfusion.bootstrap import build_centre
from msinfusion.errors import AuthenticationFailed
from tests.e2e.api.world import World, build_world


class Monotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_bound_is_five_seconds() -> None:
    assert TOKEN_CACHE_SECONDS == 5.0


def test_an_entry_is_served_until_its_age_reaches_the_bound() -> None:
    clock = Monotonic()
    cache: PrincipalCache[str] = PrincipalCache(ttl_seconds=5.0, monotonic=clock)
    cache.put("k", "v")
    clock.now += 4.999
    assert cache.get("k") == "v"
    clock.now += 0.001
    assert cache.get("k") is None
    assert cache.get("other") is None


def test_the_cache_keeps_at_most_max_entries() -> None:
    cache: PrincipalCache[int] = PrincipalCache(max_entries=2, monotonic=Monotonic())
    for i in range(3):
        cache.put(str(i), i)
    assert [cache.get(k) for k in "012"] == [None, 1, 2]


def _second_process(world: World, clock: Monotonic) -> Centre:
    cache: PrincipalCache[Principal] = PrincipalCache(monotonic=clock)
    return build_centre(
        Settings(),
        uow_factory=world.uow_factory,
        hasher=Argon2Hasher.fast(),
        clock=world.clock,
        token_cache=cache,
    )


def _revoke_in_the_store(world: World, role: Role) -> None:
    """As another process would: the token's row marked revoked, this process not told."""
    with world.uow_factory() as uow:
        for token in uow.tokens.list():
            if token.user_id == world.user_ids[role]:
                uow.tokens.update(replace(token, revoked=True))
        uow.commit()


def test_a_token_revoked_by_another_process_stops_working_within_five_seconds() -> None:
    world = build_world(clinical=False)
    clock = Monotonic()
    centre = _second_process(world, clock)
    token = world.tokens[Role.NURSE]
    accounts = centre.accounts
    assert accounts.authenticate_token(token).user_id == world.user_ids[Role.NURSE]
    _revoke_in_the_store(world, Role.NURSE)
    clock.now += TOKEN_CACHE_SECONDS - 0.5
    assert accounts.authenticate_token(token).user_id == world.user_ids[Role.NURSE]  # stale
    clock.now += 0.5
    with pytest.raises(AuthenticationFailed):
        accounts.authenticate_token(token)


def test_a_token_revoked_in_this_process_is_refused_at_once() -> None:
    world = build_world(clinical=False)
    accounts = world.centre.accounts
    token = world.tokens[Role.NURSE]
    accounts.authenticate_token(token)  # cached
    admin = accounts.authenticate_token(world.tokens[Role.ADMIN]).acting(world.clock(), None)
    (issued,) = [t for t in accounts.list_tokens(admin) if t.user_id == world.user_ids[Role.NURSE]]
    accounts.revoke_token(admin, issued.id)
    with pytest.raises(AuthenticationFailed):
        accounts.authenticate_token(token)


def test_a_user_deactivated_in_this_process_is_refused_at_once() -> None:
    world = build_world(clinical=False)
    accounts = world.centre.accounts
    token = world.tokens[Role.NURSE]
    accounts.authenticate_token(token)
    admin = accounts.authenticate_token(world.tokens[Role.ADMIN]).acting(world.clock(), None)
    accounts.update_user(admin, world.user_ids[Role.NURSE], active=False)
    with pytest.raises(AuthenticationFailed):
        accounts.authenticate_token(token)
