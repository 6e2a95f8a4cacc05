"""Times on pages: in the viewer's own time zone, in words, never raw ISO.

The browser tells its zone (static/page.js sets the ``pl_tz`` cookie from
``Intl.DateTimeFormat``); until it has, or if it names no known zone, the deployment's
``PORCHLIGHT_TIME_ZONE`` is used. Every time is rendered as ``<time datetime="…">`` so the
exact instant stays in the page for machines and assistive technology.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, available_timezones

from fastapi import Request
from jinja2 import pass_context
from markupsafe import Markup, escape

TZ_COOKIE = "pl_tz"

FORMATS = {
    "long": "%A %-d %B %Y, %H:%M",   # Tuesday 25 November 2026, 20:10
    "short": "%a %-d %b %Y, %H:%M",  # Tue 25 Nov 2026, 20:10
    "seconds": "%a %-d %b %Y, %H:%M:%S",
    "date": "%-d %B %Y",             # 25 November 2026
    "day": "%A %-d %B %Y",           # Tuesday 25 November 2026
    "time": "%H:%M",
    "time_seconds": "%H:%M:%S",
}


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def zone_named(name: str | None) -> ZoneInfo | None:
    if name and name in _zones():
        return ZoneInfo(name)
    return None


def viewer_zone(request: Request) -> ZoneInfo:
    """The browser's zone from its cookie, else the deployment's."""
    found = zone_named(request.cookies.get(TZ_COOKIE))
    return found or ZoneInfo(request.app.state.container.settings.time_zone)


def local(moment: datetime, zone: ZoneInfo) -> datetime:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(zone)


def in_words(moment: datetime, zone: ZoneInfo, style: str = "long") -> str:
    shown = local(moment, zone)
    text = shown.strftime(FORMATS[style])
    if style in ("date", "day"):
        return text
    return f"{text} {shown.tzname()}"


@pass_context
def when_filter(context, moment: datetime | str | None, style: str = "long") -> Markup | str:
    """``{{ clip.recorded_at|when }}``: a <time> element in the viewer's zone (an ISO
    string, as a disclosure keeps its times, is read first)."""
    if moment is None or moment == "":
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    zone = viewer_zone(context["request"])
    iso = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()
    return Markup('<time datetime="{}">{}</time>').format(iso, in_words(moment, zone, style))


@pass_context
def local_input_filter(context, moment: datetime | None) -> str:
    """The value of an <input type="datetime-local"> for ``moment`` in the viewer's zone."""
    if moment is None:
        return ""
    return local(moment, viewer_zone(context["request"])).strftime("%Y-%m-%dT%H:%M")


@pass_context
def zone_name(context) -> str:
    return str(escape(viewer_zone(context["request"]).key))
