"""The quiet hours and the message windows, as pure functions of any moment and time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actions.lifecycle.schedule import QuietHours, Timing, window

ZONES = st.sampled_from(
    [ZoneInfo(name) for name in ("America/Sao_Paulo", "America/Manaus", "Europe/Lisbon", "UTC")]
)
MOMENTS = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
)
HOURS = st.integers(0, 23)


@given(MOMENTS, ZONES, HOURS, HOURS)
def test_a_message_leaves_the_quiet_hours_at_their_end_and_no_later(
    moment: datetime, zone: ZoneInfo, start: int, end: int
) -> None:
    if start == end:
        return
    quiet = QuietHours(start, end)
    moved = quiet.outside(moment, zone)
    assert moved >= moment
    assert moved - moment <= timedelta(hours=24)
    assert not quiet.quiet(moved.astimezone(zone))
    if quiet.quiet(moment.astimezone(zone)):
        assert moved.astimezone(zone).time() == time(end)
    else:
        assert moved == moment


@pytest.mark.parametrize(
    ("local", "expected"),
    [((20, 59), (20, 59)), ((21, 0), (8, 0)), ((23, 30), (8, 0)), ((3, 0), (8, 0)),
     ((7, 59), (8, 0)), ((8, 0), (8, 0))],
)  # fmt: skip
def test_the_pousada_s_evening_and_night_are_quiet(
    local: tuple[int, int], expected: tuple[int, int]
) -> None:
    zone = ZoneInfo("America/Sao_Paulo")
    moment = datetime.combine(date(2027, 3, 10), time(*local), zone)
    moved = QuietHours().outside(moment, zone).astimezone(zone)
    assert moved.time() == time(*expected)
    assert moved.date() == (date(2027, 3, 11) if local[0] >= 21 else date(2027, 3, 10))


def test_each_window_is_anchored_on_its_day_and_ends_when_it_would_be_too_late() -> None:
    zone = ZoneInfo("America/Sao_Paulo")
    check_in, check_out = date(2027, 3, 10), date(2027, 3, 13)
    expired = datetime(2027, 2, 1, 23, 45, tzinfo=zone)

    def local(moment: datetime) -> tuple[date, time]:
        moment = moment.astimezone(zone)
        return moment.date(), moment.time()

    pre = window("pre_arrival", Timing(-3, time(10)), zone, check_in, check_out, None)
    assert (local(pre.due), local(pre.deadline)) == (
        (date(2027, 3, 7), time(10)),
        (check_in, time(0)),
    )
    arrival = window("arrival", Timing(0, time(9)), zone, check_in, check_out, None)
    assert local(arrival.due) == (check_in, time(9))
    assert local(arrival.deadline) == (date(2027, 3, 11), time(0))
    after = window("post_stay", Timing(1, time(10)), zone, check_in, check_out, None)
    assert local(after.due) == (date(2027, 3, 14), time(10))
    follow_up = window("abandoned", Timing(hours=24), zone, check_in, check_out, expired)
    assert local(follow_up.due) == (date(2027, 2, 2), time(23, 45))
