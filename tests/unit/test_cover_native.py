"""The compiled cover loops give exactly the Python loops' answers, and are really used.

``porchlight.services._cover_native`` is built at install when a C compiler is there.
The rest of the camera-search tests run whichever loops ``cover_circle`` picked (the
compiled ones, on CI); these tests compare the two on the same inputs, so the Python
loops — the fallback on a machine without a compiler — stay checked as well.
"""

from __future__ import annotations

from types import ModuleType

import h3.api.basic_int as h3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from porchlight.domain.geo import LatLon
from porchlight.services import camera_search
from tests.conftest import skip_or_fail
from tests.unit.test_camera_search import PENTAGON_CENTRES, centres


@pytest.fixture(scope="module")
def native() -> ModuleType:
    module = camera_search._bind_native()
    if module is None:
        skip_or_fail("the compiled cover (porchlight.services._cover_native) is not built: "
                     "install with a C compiler present (pip install -e .)")
    return module


def _both(native: ModuleType, centre: LatLon, radius: float, what=camera_search.cover_circle):
    assert camera_search._native is native
    with camera_search.python_loops():
        python = what(centre, radius)
    return python, what(centre, radius)


def radii() -> st.SearchStrategy[float]:
    return st.one_of(st.floats(0.0, 2000.0), st.sampled_from([0.0, 1e-9, 1.0, 250.0, 650.0]),
                     st.sampled_from([3_000.0, 5_000.0]))


@settings(max_examples=150, deadline=None)
@given(centre=centres(), radius=radii())
def test_the_compiled_cover_is_the_python_cover(
    native: ModuleType, centre: LatLon, radius: float
) -> None:
    python, compiled = _both(native, centre, radius)
    assert compiled == python  # ranges, cell count, k, box and both bounds


@pytest.mark.parametrize(("centre", "radius"), [
    (LatLon(-22.86238394227847, -47.13253873137805), 636.5345174137848),
    (LatLon(-57.04257343005371, -0.8307043305623552), 227.6200350404038),
    (LatLon(-48.010204603808006, 70.53743129331909), 464.9655664066238),
    (LatLon(33.99364225771572, 121.12704189680517), 575.5427017436007),
])
def test_a_cell_centre_on_the_ring_check_limit_is_decided_alike(
    native: ModuleType, centre: LatLon, radius: float
) -> None:
    """Found in review: in each of these circles a ring cell's centre lies within a float
    step of r + REACH_M, where squaring by ``x * x`` and by Python's ``x ** 2`` (libm's
    pow, not always rounded the same) decide it differently; the compiled loops once
    used the first and gave other ranges."""
    python, compiled = _both(native, centre, radius)
    assert compiled == python


@settings(max_examples=100, deadline=None)
@given(centre=centres(), radius=radii())
def test_the_compiled_search_for_k_keeps_the_same_ring_cells(
    native: ModuleType, centre: LatLon, radius: float
) -> None:
    python, compiled = _both(native, centre, radius, what=camera_search._cover)
    (k, inner, outer), (k2, inner2, outer2) = python, compiled
    assert (k, inner) == (k2, inner2)
    assert sorted(outer) == sorted(outer2)


@settings(max_examples=200, deadline=None)
@given(centre=centres(), radius=st.floats(0.0, 3000.0), k=st.integers(1, 12))
def test_a_compiled_ring_check_keeps_the_cells_the_python_one_keeps(
    native: ModuleType, centre: LatLon, radius: float, k: int
) -> None:
    with camera_search.python_loops():
        near = camera_search._Near(centre, radius)  # the Python loop only
    compiled = native.Near(*near._constants, near.distance._phi, near.distance._cos_phi,
                           near._limit)
    origin = h3.latlng_to_cell(centre.lat, centre.lon, 10)
    kept = near.ring(origin, k)
    assert sorted(compiled.ring(origin, k, False)) == sorted(kept)
    first = compiled.ring(origin, k, True)
    assert len(first) == min(1, len(kept)) and set(first) <= set(kept)


@settings(max_examples=100, deadline=None)
@given(point=st.one_of(centres(), st.sampled_from(PENTAGON_CENTRES)), k=st.integers(0, 15),
       outer=st.integers(0, 30))
def test_compiled_disk_ranges_are_the_python_ranges(
    native: ModuleType, point: LatLon, k: int, outer: int
) -> None:
    origin = h3.latlng_to_cell(point.lat, point.lon, 10)
    ring = h3.grid_ring(origin, k + 1)[:outer]
    assert native.disk_ranges(origin, k, ring) == camera_search._disk_ranges(origin, k, ring)


def test_the_compiled_loops_are_the_ones_in_use(native: ModuleType) -> None:
    """Where the extension is built, the lookup runs it (CI builds it, so CI checks it)."""
    assert camera_search.cover_implementation() == "compiled"
    assert camera_search._native is native


def test_binding_to_a_library_without_h3s_functions_fails_cleanly(native: ModuleType) -> None:
    import h3._cy.memory  # one of h3-py's modules that exports no H3 function

    with pytest.raises(ImportError, match="does not export cellToLatLng"):
        native.bind(h3._cy.memory.__file__)
    with pytest.raises(ImportError, match="cannot open"):
        native.bind("/nonexistent/library.so")
    import h3._cy.cells

    native.bind(h3._cy.cells.__file__)  # and binding again to the right one still works
    assert camera_search.cover_circle(LatLon(45.5, -122.6), 250.0).ranges


class _Wrong:
    """Compiled loops that drop the last range: what the import-time check must catch."""

    def __init__(self, native: ModuleType) -> None:
        self.Near = native.Near

        def disk_ranges(origin: int, inner_k: int, outer: list[int]):
            ranges, count = native.disk_ranges(origin, inner_k, outer)
            return ranges[:-1], count

        self.disk_ranges = disk_ranges


def test_loops_that_disagree_with_python_are_not_used(native: ModuleType) -> None:
    assert camera_search._native_agrees(native)
    assert not camera_search._native_agrees(_Wrong(native))  # type: ignore[arg-type]
    assert camera_search._native is native  # the check leaves the module as it found it
