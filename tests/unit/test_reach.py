

def test_every_point_of_a_grid_square_snaps_to_its_centre() -> None:
    from porchlight.kernel.domain.geo import LatLon, haversine_m
    from porchlight.requests.domain.reach import PREVIEW_GRID_M, snap_centre

    for lat, lon in ((45.5122, -122.6587), (0.0, 0.0), (-33.9, 151.2), (69.6, 18.9)):
        centre = snap_centre(LatLon(lat, lon))
        assert haversine_m(LatLon(lat, lon), centre) < PREVIEW_GRID_M  # near, never far
        assert snap_centre(centre) == centre  # a centre is its own square's centre
