"""Where a map with no place of its own starts (``<body data-map-center>``, read by map.js).

``PORCHLIGHT_MAP__CENTER`` when it is set. Otherwise the deployment's own area: the centre
of its most local verified agency (the smallest jurisdiction; the demo neighbourhood's
agencies sit on it), so a resident's first map opens on their town, not on the whole world.
With no verified agency yet there is no centre, and map.js shows the world.
"""

from __future__ import annotations

from jinja2 import pass_context

from porchlight.bootstrap import Container


def fallback_centre(container: Container) -> tuple[float, float] | None:
    with container.uow().reading() as uow:
        verified = [agency for agency in uow.agencies.list() if agency.is_verified]
    if not verified:
        return None
    local = min(verified, key=lambda agency: (agency.radius_m, agency.created_at))
    return (round(local.center_lat, 5), round(local.center_lon, 5))


@pass_context
def map_centre(context) -> tuple[float, float] | None:
    """``{{ map_centre() }}``: the configured centre, else the fallback (kept once found:
    an agency's centre does not move)."""
    state = context["request"].app.state
    configured = state.container.settings.map.center
    if configured is not None:
        return configured
    if getattr(state, "map_centre", None) is None:
        state.map_centre = fallback_centre(state.container)
    return state.map_centre
