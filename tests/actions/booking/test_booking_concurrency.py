"""Many guests after the last room at once: exactly one gets it, nobody sees a deadlock or a
serialisation failure, and no day is ever taken beyond its total.

On PostgreSQL the holds also come from two processes, each with its own connection pool, released
together by a start signal (a file that appears), as two bot workers would.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from actions.booking import holds
from actions.booking.catalog import extend_inventory
from actions.booking.errors import Unavailable
from actions.booking.holds import Guest, Holds, release
from actions.booking.tables import Inventory, Product, Property, Rate, Reservation
from bot.stores.database import Database
from tests.support.clock import NOW, REFERENCE_DAY, Clock
from tests.support.databases import database_url, fresh_database

REPO = Path(__file__).resolve().parents[3]
TODAY = REFERENCE_DAY
"""The workers' clock is the suite's ``NOW`` too (passed in the spec): the stays are days ahead."""

WORKER = """
import asyncio, json, sys, time
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import text

from actions.booking.errors import Unavailable
from actions.booking.holds import Guest, Holds
from bot.stores.database import Database


async def main(spec):
    database = Database(spec["url"])
    now = datetime.fromisoformat(spec["now"])
    service = Holds(database, clock=lambda: now)

    async def warm():  # open the pool's connections before the start signal
        async with database.session() as session:
            await session.execute(text("SELECT 1"))
            await asyncio.sleep(0.2)

    await asyncio.gather(*(warm() for _ in spec["stays"]))
    Path(spec["ready"]).touch()
    deadline = time.monotonic() + 60
    while not Path(spec["start"]).exists():
        if time.monotonic() > deadline:
            raise SystemExit("no start signal")
        await asyncio.sleep(0.001)

    async def one(number, checkin, checkout):
        guest = Guest(f"Guest {number}", f"guest{number}@example.com")
        try:
            reservation = await service.hold(
                spec["product"], date.fromisoformat(checkin), date.fromisoformat(checkout),
                1, 0, guest, "web", f"{spec['tag']}-{number}", "pt_BR", "guest:web",
            )
        except Unavailable:
            return {"unavailable": [checkin, checkout]}
        except Exception as error:
            return {"error": f"{type(error).__name__}: {error}"}
        return {"code": reservation.code, "stay": [checkin, checkout]}

    results = await asyncio.gather(*(one(n, *stay) for n, stay in enumerate(spec["stays"])))
    await database.close()
    print(json.dumps(results))


asyncio.run(main(json.loads(sys.argv[1])))
"""

Stay = tuple[date, date]


@pytest.fixture
async def postgresql(tmp_path: Path) -> AsyncIterator[Database]:
    database = await fresh_database(database_url("postgresql", tmp_path))
    yield database
    await database.close()


async def last_room(database: Database, units: int = 1) -> int:
    """A property with one room type of ``units`` rooms, open for the next 30 days."""
    async with database.session() as session:
        place = Property(
            slug="pousada-ultimo-quarto",
            name="Pousada Último Quarto",
            kind="pousada",
            city="Cunha",
            tax_percent=5,
            fee_per_stay=1000,
        )
        session.add(place)
        await session.flush()
        room = Product(
            property_id=place.id,
            code="room",
            kind="room",
            names={"en": "Room"},
            units=units,
            max_adults=2,
            max_children=0,
        )
        session.add(room)
        await session.flush()
        session.add(Rate(product_id=room.id, season_id=None, weekday=None, amount=25000))
        product_id = room.id
    await extend_inventory(database, TODAY, days=30)
    return product_id


def night(offset: int) -> date:
    return TODAY + timedelta(days=10 + offset)


async def concurrent_holds(database: Database, product_id: int, stays: list[Stay]) -> list[Any]:
    """Fire every hold at once in this process; the results are codes, or the exceptions."""
    service = Holds(database, Clock(NOW))

    async def one(number: int, check_in: date, check_out: date) -> Any:
        guest = Guest(f"Guest {number}", f"guest{number}@example.com")
        reservation = await service.hold(
            product_id,
            check_in,
            check_out,
            1,
            0,
            guest,
            "web",
            f"conv-{number}",
            "pt_BR",
            "guest:web",
        )
        return {"code": reservation.code, "stay": [check_in.isoformat(), check_out.isoformat()]}

    outcomes = await asyncio.gather(
        *(one(number, *stay) for number, stay in enumerate(stays)), return_exceptions=True
    )
    return [
        {"unavailable": True}
        if isinstance(outcome, Unavailable)
        else {"error": f"{type(outcome).__name__}: {outcome}"}
        if isinstance(outcome, BaseException)
        else outcome
        for outcome in outcomes
    ]


async def holds_from_processes(
    database: Database, product_id: int, stays_per_worker: list[list[Stay]], directory: Path
) -> list[Any]:
    """Each worker process fires its stays at once, all workers released by one start file."""
    script = directory / "hold_worker.py"
    script.write_text(WORKER)
    start = directory / "start"
    workers = []
    for number, stays in enumerate(stays_per_worker):
        spec = {
            "now": NOW.isoformat(),
            "url": database.url,
            "product": product_id,
            "stays": [
                [check_in.isoformat(), check_out.isoformat()] for check_in, check_out in stays
            ],
            "ready": str(directory / f"ready-{number}"),
            "start": str(start),
            "tag": f"worker{number}",
        }
        workers.append(
            await asyncio.create_subprocess_exec(
                sys.executable,
                str(script),
                json.dumps(spec),
                cwd=REPO,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        )
    outputs = [asyncio.ensure_future(worker.communicate()) for worker in workers]
    try:
        for _ in range(6000):
            if all((directory / f"ready-{n}").exists() for n in range(len(workers))):
                break
            if any(output.done() for output in outputs):
                break  # a worker died before it was ready: its stderr tells why
            await asyncio.sleep(0.01)
        start.touch()
        finished = await asyncio.wait_for(asyncio.gather(*outputs), timeout=60)
    finally:
        for worker in workers:
            if worker.returncode is None:
                worker.kill()
    results = []
    for worker, (stdout, stderr) in zip(workers, finished, strict=True):
        assert worker.returncode == 0, stderr.decode()
        results += json.loads(stdout.decode().strip().splitlines()[-1])
    return results


def tally(results: list[Any]) -> Counter[str]:
    return Counter(next(iter(result)) for result in results)


async def taken(database: Database, product_id: int) -> dict[date, tuple[int, int]]:
    async with database.session() as session:
        rows = await session.execute(
            select(Inventory.day, Inventory.taken, Inventory.total).where(
                Inventory.product_id == product_id
            )
        )
        return {day: (used, total) for day, used, total in rows}


async def reservations(database: Database) -> int:
    async with database.session() as session:
        return await session.scalar(select(func.count()).select_from(Reservation)) or 0


async def assert_inventory_matches(database: Database, product_id: int, results: list[Any]) -> None:
    """No day is taken beyond its total, and each day's count is exactly the successful holds."""
    expected: Counter[date] = Counter()
    for result in results:
        if "code" in result:
            check_in, check_out = (date.fromisoformat(day) for day in result["stay"])
            for offset in range((check_out - check_in).days):
                expected[check_in + timedelta(days=offset)] += 1
    for day, (used, total) in (await taken(database, product_id)).items():
        assert 0 <= used <= total, day
        assert used == expected[day], day
    assert await reservations(database) == sum(1 for result in results if "code" in result)


# -- the last room ------------------------------------------------------------------------------


async def test_fifty_holds_from_two_processes_get_the_last_room_once(
    postgresql: Database, tmp_path: Path
) -> None:
    product_id = await last_room(postgresql)
    stay = (night(0), night(2))
    results = await holds_from_processes(
        postgresql, product_id, [[stay] * 25, [stay] * 25], tmp_path
    )
    assert len(results) == 50
    assert [r for r in results if "error" in r] == []  # no deadlock, no serialisation failure
    assert tally(results) == {"code": 1, "unavailable": 49}
    state = await taken(postgresql, product_id)
    assert (state[night(0)], state[night(1)], state[night(2)]) == ((1, 1), (1, 1), (0, 1))
    await assert_inventory_matches(postgresql, product_id, results)


async def test_fifty_concurrent_holds_in_one_process_get_the_last_room_once(
    database: Database,
) -> None:
    product_id = await last_room(database)
    results = await concurrent_holds(database, product_id, [(night(0), night(2))] * 50)
    assert [r for r in results if "error" in r] == []
    assert tally(results) == {"code": 1, "unavailable": 49}
    state = await taken(database, product_id)
    assert (state[night(0)], state[night(1)]) == ((1, 1), (1, 1))
    await assert_inventory_matches(database, product_id, results)


# -- overlapping stays ----------------------------------------------------------------------------


async def test_overlapping_stays_in_any_order_never_deadlock(database: Database) -> None:
    """Nights 1-3 and 2-4 share night 2: whichever comes first, only one of the 40 gets it."""
    product_id = await last_room(database)
    early, late = (night(1), night(3)), (night(2), night(4))
    stays = [early, late] * 10 + [late, early] * 10
    results = await concurrent_holds(database, product_id, stays)
    assert [r for r in results if "error" in r] == []
    assert tally(results) == {"code": 1, "unavailable": 39}
    await assert_inventory_matches(database, product_id, results)


async def test_a_mix_of_overlapping_stays_from_two_processes(
    postgresql: Database, tmp_path: Path
) -> None:
    """Two rooms, 80 stays of 1 to 4 nights over one week, shuffled differently per process: no
    deadlock, and each day's count is exactly the holds that succeeded."""
    product_id = await last_room(postgresql, units=2)
    shapes = [(start, start + length) for start in range(7) for length in (1, 2, 4)]
    randomness = random.Random(360)
    stays = [[(night(a), night(b)) for a, b in randomness.choices(shapes, k=40)] for _ in "ab"]
    stays[1].reverse()
    results = await holds_from_processes(postgresql, product_id, stays, tmp_path)
    assert [r for r in results if "error" in r] == []
    counts = tally(results)
    assert counts["code"] >= 2
    assert counts["code"] + counts["unavailable"] == 80
    await assert_inventory_matches(postgresql, product_id, results)


# -- the hold sweep against new holds ---------------------------------------------------------


class PausingRelease:
    """Stops after the first release of a sweep until the test lets it go on: the moment when
    the sweep holds one reservation's days and is about to release the next reservation's."""

    def __init__(self) -> None:
        self.released = asyncio.Event()
        self.go_on = asyncio.Event()
        self.pausing = False

    async def __call__(self, session: Any, reservation: Reservation) -> None:
        await release(session, reservation)
        if self.pausing and not self.released.is_set():
            self.released.set()
            await self.go_on.wait()


async def waiting_on_locks(database: Database) -> int:
    async with database.engine.connect() as connection:
        return (
            await connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
            or 0
        )


async def test_the_hold_sweep_never_deadlocks_with_a_new_hold(
    postgresql: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    product_id = await last_room(postgresql, units=2)
    clock = Clock(NOW)
    service = Holds(postgresql, hold_minutes=15, clock=clock)
    pause = PausingRelease()
    monkeypatch.setattr(holds, "release", pause)
    guest = Guest("Ana", "ana@example.com")
    for check_in, check_out in ((night(4), night(7)), (night(0), night(3))):  # later stay first
        await service.hold(product_id, check_in, check_out, 1, 0, guest, "web", "a", "pt_BR", "t")
    clock.advance(minutes=16)
    pause.pausing = True
    sweep = asyncio.ensure_future(service.expire_holds())
    await asyncio.wait_for(pause.released.wait(), 10)  # the later stay's days are locked
    new_hold = asyncio.ensure_future(
        service.hold(product_id, night(0), night(7), 1, 0, guest, "web", "b", "pt_BR", "t")
    )
    for _ in range(500):  # until the new hold waits for the sweep's rows
        if await waiting_on_locks(postgresql):
            break
        await asyncio.sleep(0.01)
    pause.go_on.set()
    outcomes = await asyncio.wait_for(asyncio.gather(sweep, new_hold, return_exceptions=True), 30)
    assert [type(outcome).__name__ for outcome in outcomes] == ["list", "Reservation"]
    state = await taken(postgresql, product_id)
    assert [state[night(day)][0] for day in range(7)] == [1] * 7
