"""The messages around a stay on a moving clock: each goes out on its day at its hour (property
time), never in the quiet hours, never twice (also with two workers at once), and only as the
property's switches and the guest's consent allow. Real PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import time_machine
from sqlalchemy import select

from actions.booking.holds import Holds
from actions.booking.tables import Reservation
from actions.faq.conversation import Faq
from actions.lifecycle.config import MessagesConfig
from actions.lifecycle.consent import Consents
from actions.lifecycle.desk import GuestMessages
from actions.lifecycle.schedule import QuietHours
from actions.lifecycle.settings import PROPERTIES_DIR
from actions.lifecycle.tables import GuestMessage
from bot import Address
from bot.root.app import Runtime, build_runtime, runtime_lifespan
from bot.root.settings import Settings
from bot.stores.database import Database
from tests.support.guests import Inbox, book, running_bot
from tests.support.guests import pousada_time as at
from tests.support.services import POSTGRESQL_URL, REDIS_URL
from tests.support.stays import DEMO_ZONE, off_season_stay, today


def desk(runtime: Runtime) -> GuestMessages:
    return runtime.services.get(GuestMessages)


async def opt_in(runtime: Runtime, conversation: str) -> None:
    """The demo pousada sends marketing-type messages only to guests who said yes."""
    await runtime.services.get(Consents).start(Address("web", conversation), marketing=True)


async def states(runtime: Runtime) -> dict[str, tuple[str, str | None]]:
    async with runtime.database.session() as session:
        rows = await session.scalars(select(GuestMessage))
        return {row.kind: (row.state, row.outcome) for row in rows}


async def test_each_message_goes_out_on_its_day_at_its_hour_once(
    stay_runtime: Runtime, inbox: Inbox, frozen_time: time_machine.Coordinates
) -> None:
    check_in, check_out = off_season_stay(today(), nights=2, lead_days=10)
    await book(stay_runtime, "stay-1", "en", check_in)
    await opt_in(stay_runtime, "stay-1")
    assert await desk(stay_runtime).plan() == 3
    assert await desk(stay_runtime).plan() == 0

    frozen_time.move_to(at(check_in - timedelta(days=3), 9, 59))
    await desk(stay_runtime).send_due()
    assert inbox.texts("stay-1") == []

    frozen_time.move_to(at(check_in - timedelta(days=3), 10, 0))
    await desk(stay_runtime).send_due()
    await desk(stay_runtime).send_due()
    [pre_arrival] = inbox.texts("stay-1")
    assert "Check-in is from 2 pm" in pre_arrival
    assert "Rua das Conchas 120" in pre_arrival
    assert "Free covered parking" in pre_arrival
    assert "Sunscreen" in pre_arrival
    assert inbox.buttons("stay-1") == [
        "Open the map",
        "Transfer from the Ubatuba bus station · R$90.00",
        "Stop messages",
    ]

    frozen_time.move_to(at(check_in, 9, 0))
    await desk(stay_runtime).send_due()
    arrival = inbox.texts("stay-1")[1]
    assert "password: marazul2026" in arrival
    assert "+55 12 3833-4120" in arrival

    frozen_time.move_to(at(check_out + timedelta(days=1), 9, 59))
    await desk(stay_runtime).send_due()
    assert len(inbox.texts("stay-1")) == 2
    frozen_time.move_to(at(check_out + timedelta(days=1), 10, 0))
    await desk(stay_runtime).send_due()
    assert "Thank you for staying at Pousada do Mar, Rita" in inbox.texts("stay-1")[2]
    assert "Write a review" in inbox.buttons("stay-1")
    frozen_time.move_to(at(check_out + timedelta(days=5), 12, 0))
    await desk(stay_runtime).send_due()
    assert len(inbox.texts("stay-1")) == 3
    assert {state for state, _ in (await states(stay_runtime)).values()} == {"sent"}


async def test_quiet_hours_move_a_message_to_eight_in_the_morning(
    stay_runtime: Runtime, inbox: Inbox, frozen_time: time_machine.Coordinates
) -> None:
    """A hold that runs out at 21:45 is followed up 24 hours later, which is quiet time: at
    08:00 the day after instead, in the pousada's time zone."""
    day = today()
    check_in, _ = off_season_stay(day, nights=2, lead_days=20)
    frozen_time.move_to(at(day, 21, 30))
    hold = await book(stay_runtime, "late-1", "pt-BR", check_in, paid=False)
    await opt_in(stay_runtime, "late-1")
    assert hold.hold_expires_at is not None
    frozen_time.move_to(hold.hold_expires_at + timedelta(minutes=1))
    assert await stay_runtime.services.get(Holds).expire_holds()
    await desk(stay_runtime).plan()
    async with stay_runtime.database.session() as session:
        planned = await session.scalar(select(GuestMessage))
    assert planned is not None
    assert planned.due_at.astimezone(DEMO_ZONE) == at(day + timedelta(days=2), 8, 0)

    for moment in (at(day + timedelta(days=1), 21, 50), at(day + timedelta(days=2), 7, 59)):
        frozen_time.move_to(moment)
        await desk(stay_runtime).send_due()
        assert inbox.texts("late-1") == []
    frozen_time.move_to(at(day + timedelta(days=2), 8, 0))
    await desk(stay_runtime).send_due()
    [follow_up] = inbox.texts("late-1")
    assert "não foi concluída" in follow_up
    assert "Reservar de novo" in inbox.buttons("late-1")


async def test_a_message_found_due_in_the_evening_waits_for_the_morning(
    stay_runtime: Runtime, inbox: Inbox, frozen_time: time_machine.Coordinates
) -> None:
    """The workers were down all day: the 10:00 pre-arrival message found at 21:30 goes at
    08:00 the next day, still before the check-in."""
    check_in, _ = off_season_stay(today(), nights=2, lead_days=10)
    await book(stay_runtime, "down-1", "es", check_in)
    await desk(stay_runtime).plan()
    frozen_time.move_to(at(check_in - timedelta(days=3), 21, 30))
    assert await desk(stay_runtime).send_due() == {"postponed": 1}
    assert inbox.texts("down-1") == []
    frozen_time.move_to(at(check_in - timedelta(days=2), 8, 0))
    assert await desk(stay_runtime).send_due() == {"sent": 1}
    [pre_arrival] = inbox.texts("down-1")
    assert "El check-in es a partir de las 14 h" in pre_arrival
    # No opt-in given: the pousada's upsell is left out, the map and the stop button stay.
    assert inbox.buttons("down-1") == ["Abrir el mapa", "No más mensajes"]


async def test_two_workers_at_once_send_each_message_once(
    stay_runtime: Runtime, inbox: Inbox, frozen_time: time_machine.Coordinates
) -> None:
    check_in, _ = off_season_stay(today(), nights=2, lead_days=12)
    guests = [f"busy-{n}" for n in range(6)]
    for guest in guests:
        await book(stay_runtime, guest, "en", check_in, email=f"{guest}@example.com")
    await desk(stay_runtime).plan()
    other_database = Database(POSTGRESQL_URL)
    services = stay_runtime.services
    other_worker = GuestMessages(
        other_database,
        services.get(MessagesConfig),
        services.get(Faq).properties,
        Consents(other_database, stay_runtime.now),
        stay_runtime.notifier,
        QuietHours(),
        stay_runtime.now,
    )
    try:
        frozen_time.move_to(at(check_in - timedelta(days=3), 10, 0))
        first, second = await asyncio.gather(desk(stay_runtime).send_due(), other_worker.send_due())
    finally:
        await other_database.close()
    assert first.get("sent", 0) + second.get("sent", 0) == len(guests)
    assert [len(inbox.texts(guest)) for guest in guests] == [1] * len(guests)


async def test_a_switch_off_a_stop_and_a_missing_opt_in_each_hold_back_their_messages(
    make_settings: Callable[..., Settings],
    redis: object,
    tmp_path: Path,
    frozen_time: time_machine.Coordinates,
) -> None:
    directory = tmp_path / "messages"
    directory.mkdir()
    demo = (PROPERTIES_DIR / "pousada-do-mar.yaml").read_text(encoding="utf-8")
    switched_off = demo.replace(
        'arrival: {enabled: true, days: 0, at: "09:00"}',
        'arrival: {enabled: false, days: 0, at: "09:00"}',
    )
    assert switched_off != demo
    (directory / "pousada-do-mar.yaml").write_text(switched_off, encoding="utf-8")
    async with running_bot(make_settings, lifecycle={"directory": directory}) as runtime:
        inbox = Inbox()
        runtime.notifier.register("web", inbox.deliver)
        check_in, check_out = off_season_stay(today(), nights=2, lead_days=10)
        await book(runtime, "no-opt-in", "en", check_in)
        await book(runtime, "stopped", "en", check_in, email="stop@example.com")
        await runtime.services.get(Consents).stop(Address("web", "stopped"))
        await desk(runtime).plan()
        for moment in (
            at(check_in - timedelta(days=3), 10),
            at(check_in, 9),
            at(check_out + timedelta(days=1), 10),
        ):
            frozen_time.move_to(moment)
            await desk(runtime).send_due()
        assert len(inbox.texts("no-opt-in")) == 1  # the pre-arrival one, without the upsell
        assert "Stop messages" in inbox.buttons("no-opt-in")
        assert inbox.texts("stopped") == []
        async with runtime.database.session() as session:
            rows = await session.execute(
                select(Reservation.conversation_id, GuestMessage.kind, GuestMessage.outcome)
                .join(Reservation, Reservation.id == GuestMessage.reservation_id)
                .where(GuestMessage.state != "sent")
            )
            held_back = sorted(tuple(row) for row in rows)
        assert held_back == [
            ("no-opt-in", "arrival", "off"),
            ("no-opt-in", "post_stay", "no_opt_in"),
            ("stopped", "arrival", "off"),
            ("stopped", "post_stay", "stopped"),
            ("stopped", "pre_arrival", "stopped"),
        ]


async def test_the_hold_reminder_follows_its_switch(
    make_settings: Callable[..., Settings],
    redis: object,
    tmp_path: Path,
    frozen_time: time_machine.Coordinates,
) -> None:
    """The reminder stays booking's (once per hold), with its switch in the message file."""
    directory = tmp_path / "messages"
    directory.mkdir()
    demo = (PROPERTIES_DIR / "pousada-do-mar.yaml").read_text(encoding="utf-8")
    (directory / "pousada-do-mar.yaml").write_text(
        demo.replace("hold_reminder: {enabled: true}", "hold_reminder: {enabled: false}"),
        encoding="utf-8",
    )
    for messages, expected in ((PROPERTIES_DIR, 1), (directory, 0)):
        async with running_bot(make_settings, lifecycle={"directory": messages}) as runtime:
            inbox = Inbox()
            runtime.notifier.register("web", inbox.deliver)
            check_in, _ = off_season_stay(today(), nights=2, lead_days=10)
            hold = await book(runtime, "holding", "en", check_in, paid=False)
            assert hold.hold_expires_at is not None
            [warn] = [
                job
                for capability in runtime.capabilities
                for job in capability.jobs
                if job.name == "warn_expiring_holds"
            ]
            frozen_time.move_to(hold.hold_expires_at - timedelta(minutes=2))
            await warn.run()
            await warn.run()
            assert len(inbox.texts("holding")) == expected


async def test_planned_messages_survive_a_restart(
    make_settings: Callable[..., Settings],
    redis: object,
    frozen_time: time_machine.Coordinates,
) -> None:
    """Planned by one process, sent by another started later on the same database: the
    schedule is in PostgreSQL, not in a process."""
    check_in, _ = off_season_stay(today(), nights=2, lead_days=10)
    async with running_bot(make_settings) as first:
        await book(first, "restart-1", "pt-BR", check_in)
        assert await desk(first).plan() == 3
    settings = make_settings(database_url=POSTGRESQL_URL, redis_url=REDIS_URL)
    async with runtime_lifespan(build_runtime(settings), upkeep=False) as second:
        inbox = Inbox()
        second.notifier.register("web", inbox.deliver)
        assert await desk(second).plan() == 0
        frozen_time.move_to(at(check_in - timedelta(days=3), 10))
        assert await desk(second).send_due() == {"sent": 1}
        assert "O check-in é a partir das 14h" in inbox.texts("restart-1")[0]
