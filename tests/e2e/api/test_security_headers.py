"""Security headers on pages and API answers, and API docs that load nothing from outside."""

from __future__ import annotations

import re

from msinfusion.adapters.web import Settings
from msinfusion.adapters.web.ui import STATIC_DIR
from msinfusion.application.records import Role
from tests.e2e.api.security_worlds import WorldMaker

TEMPLATES = STATIC_DIR.parent / "templates"


def test_every_answer_carries_the_security_headers(make_world: WorldMaker) -> None:
    world = make_world()
    for response in (
        world.request(Role.NURSE, "GET", "/api/patients"),
        world.client.get("/login"),
        world.request(None, "GET", "/api/patients"),  # a 401 too
    ):
        headers = response.headers
        csp = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp
        assert "script-src 'self'" in csp
        assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"
        assert headers["cache-control"] == "no-store"
        assert headers["strict-transport-security"].startswith("max-age=")


def test_static_files_may_be_cached(make_world: WorldMaker) -> None:
    world = make_world()
    css = world.client.get("/static/app.css")
    assert css.status_code == 200
    assert "cache-control" not in css.headers
    assert css.headers["x-content-type-options"] == "nosniff"


def test_the_templates_have_no_inline_script() -> None:
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), template.name
        assert not re.search(r"\son[a-z]+\s*=", text), template.name


def test_the_api_docs_load_nothing_from_outside(make_world: WorldMaker) -> None:
    world = make_world()
    page = world.client.get("/api/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources
    assert all(s.startswith("/") for s in sources), sources
    for source in sources:
        assert world.client.get(source).status_code == 200, source
    assert "<script>" not in page.text


def test_the_api_docs_can_be_turned_off(make_world: WorldMaker) -> None:
    world = make_world(settings=Settings(api_docs=False))
    assert world.client.get("/api/docs").status_code == 404
    assert world.client.get("/api/openapi.json").status_code == 200
    assert Settings.from_env({"MSINFUSION_API_DOCS": "0"}).api_docs is False
