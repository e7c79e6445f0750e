"""Days and months in the operator's time zone (settings.TIME_ZONE), for every app that counts by
calendar day or month (the rollups, budgets, the dashboard, the engine's rollup queue)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def local_today() -> date:
    return timezone.now().astimezone(local_zone()).date()


def local_day(moment: datetime) -> date:
    return moment.astimezone(local_zone()).date()


def day_start(day: date) -> datetime:
    """Return the aware instant at which `day` begins in the operator's time zone."""
    return datetime.combine(day, time.min, tzinfo=local_zone())


def day_bounds(day: date) -> tuple[datetime, datetime]:
    return day_start(day), day_start(day + timedelta(days=1))


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month_start(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def month_bounds(day: date) -> tuple[datetime, datetime]:
    """Return [start, end) of the calendar month holding `day`, as aware instants."""
    return day_start(month_start(day)), day_start(next_month_start(day))
