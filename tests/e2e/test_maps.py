"""Maps without a browser: Leaflet comes from the installed package, the pages say where
the tiles are, and every location field is still a plain input."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import xstatic.pkg.leaflet as leaflet

from porchlight.config import Settings
from tests.e2e.support import Deployment, build_deployment


@pytest.fixture
def d(settings: Settings) -> Deployment:
    return build_deployment(settings)


def test_leaflet_is_served_from_the_installed_package(d: Deployment) -> None:
    browser = d.browser()
    for name in ("leaflet.js", "leaflet.css", "images/layers.png"):
        served = browser.get(f"/static/leaflet/{name}")
        assert served.status_code == 200, name
        assert served.content == (Path(leaflet.BASE_DIR) / name).read_bytes()
        assert served.headers["cache-control"] == "public, max-age=3600"
    assert browser.get("/static/map.js").status_code == 200
    assert browser.get("/static/style.css").status_code == 200  # the mount below still works


def test_the_map_settings_reach_the_page_as_data(settings: Settings) -> None:
    tiles = "https://{s}.tiles.example.org/{z}/{x}/{y}.png"
    d = build_deployment(settings.model_copy(update={"map": settings.map.model_copy(update={
        "tile_url": tiles, "attribution": "© Example <maps>", "max_zoom": 18,
        "center": (45.52, -122.67), "zoom": 14})}))
    page = d.browser().get("/register").text
    body = re.search(r"<body([^>]*)>", page).group(1)
    assert f'data-map-tiles="{tiles}"' in body
    assert 'data-map-attribution="© Example &lt;maps&gt;"' in body
    assert 'data-map-max-zoom="18"' in body and 'data-map-zoom="14"' in body
    assert 'data-map-center="45.52,-122.67"' in body
    scripts = re.findall(r'<script src="([^"]+)"', page)
    assert [s.rsplit("/", 1)[1] for s in scripts] == ["page.js", "leaflet.js", "map.js"]
    assert all(s.startswith("http://testserver/static/") for s in scripts)  # never a CDN


def test_without_a_configured_centre_maps_start_at_a_verified_agency(d: Deployment) -> None:
    """Not the whole world, nor a far-off place: the most local verified agency's area."""
    assert d.container.settings.map.center is None

    def centre() -> str | None:
        body = re.search(r"<body([^>]*)>", d.browser().get("/register").text).group(1)
        found = re.search(r'data-map-center="([^"]*)"', body)
        return found.group(1) if found else None

    assert centre() is None  # no verified agency yet: map.js shows the world
    with d.container.uow() as uow:
        uow.agencies.get(d.agency_y).verify(now=uow.clock.now(), actor_id=None)  # 30 km
        uow.agencies.get(d.agency_x).verify(now=uow.clock.now(), actor_id=None)  # 8 km
        uow.commit()
    assert centre() == "45.5122,-122.6587"  # agency X's centre (the cast's neighbourhood)


@pytest.mark.parametrize(("path", "who", "fields"), [
    ("/register", None, ("home_lat", "home_lon")),
    ("/cameras", "resident_a", ("lat", "lon")),
    ("/admin/agencies", "platform_admin", ("center_lat", "center_lon", "radius_m")),
])
def test_location_fields_stay_plain_inputs_inside_the_picker(
        d: Deployment, path: str, who: str | None, fields: tuple[str, ...]) -> None:
    browser = d.signed_in(who) if who else d.browser()
    page = browser.get(path).text
    picker = re.search(r"<fieldset class=\"location\" data-map-picker.*?</fieldset>", page,
                       re.S).group(0)
    for name in fields:
        assert f'<label for="f-{name}">' in picker and f'id="f-{name}"' in picker


def test_an_impossible_map_centre_is_refused_at_start(settings: Settings) -> None:
    with pytest.raises(ValueError, match=r"map\.center"):
        Settings(env="test", data_dir=settings.data_dir, map={"center": (91, 0)})
