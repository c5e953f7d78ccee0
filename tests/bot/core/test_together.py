"""Records a turn waits for, written together: one write carries whatever arrived during the
last, each caller gets its own answer, and a record that cannot be written fails only its own
caller."""

from __future__ import annotations

import asyncio

import pytest

from bot.core.batch import Together


class Shelf:
    """A write that takes a moment (as a unit of work does) and refuses negative numbers."""

    def __init__(self) -> None:
        self.writes: list[list[int]] = []

    async def write(self, numbers: list[int]) -> list[str]:
        self.writes.append(numbers)
        await asyncio.sleep(0.01)
        if any(number < 0 for number in numbers):
            raise ValueError("negative")
        return [f"kept {number}" for number in numbers]


async def test_callers_arriving_during_a_write_share_the_next_and_get_their_own_answers() -> None:
    shelf = Shelf()
    together = Together(shelf.write)

    first = asyncio.create_task(together(0))
    await asyncio.sleep(0)  # the first write is under way
    answers = await asyncio.gather(*(together(number) for number in range(1, 50)))

    assert await first == "kept 0"
    assert answers == [f"kept {number}" for number in range(1, 50)]
    assert shelf.writes == [[0], list(range(1, 50))]


async def test_a_record_that_cannot_be_written_fails_only_its_caller() -> None:
    shelf = Shelf()
    together = Together(shelf.write)

    answers = await asyncio.gather(
        *(together(number) for number in (1, 2, -3, 4)), return_exceptions=True
    )

    assert answers[:2] == ["kept 1", "kept 2"]
    assert isinstance(answers[2], ValueError)
    assert answers[3] == "kept 4"
    assert shelf.writes == [[1, 2, -3, 4], [1], [2], [-3], [4]], "tried together, then apart"


async def test_a_caller_that_gives_up_leaves_the_others_answered() -> None:
    shelf = Shelf()
    together = Together(shelf.write)
    first = asyncio.create_task(together(1))
    await asyncio.sleep(0)  # the first write is under way
    impatient = asyncio.create_task(together(2))
    patient = asyncio.create_task(together(3))
    await asyncio.sleep(0)
    impatient.cancel()

    assert await first == "kept 1"
    assert await patient == "kept 3"
    with pytest.raises(asyncio.CancelledError):
        await impatient
    assert shelf.writes == [[1], [2, 3]], "what was given is written all the same"


async def test_closing_waits_for_what_was_given() -> None:
    shelf = Shelf()
    together = Together(shelf.write)
    pending = [asyncio.create_task(together(number)) for number in range(3)]
    await asyncio.sleep(0)

    await together.close()

    assert sum(len(write) for write in shelf.writes) == 3
    assert all(task.done() for task in pending)
