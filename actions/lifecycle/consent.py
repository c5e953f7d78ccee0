"""What each guest said about the bot's own messages: stopped or not, marketing welcome or not."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from actions.lifecycle.tables import MessageConsent
from bot.core.clock import Now
from bot.core.types import Address
from bot.stores.database import Database


@dataclass(frozen=True, slots=True)
class Consent:
    stopped: bool = False
    marketing: bool = False


class Consents:
    def __init__(self, database: Database, clock: Now) -> None:
        self._database = database
        self._clock = clock

    async def of(self, address: Address, session: AsyncSession | None = None) -> Consent:
        if session is None:
            async with self._database.session() as own:
                return await self.of(address, own)
        found = await session.get(MessageConsent, (address.channel, address.conversation_id))
        return Consent() if found is None else Consent(found.stopped, found.marketing)

    async def stop(self, address: Address) -> None:
        await self._set(address, stopped=True)

    async def start(self, address: Address, marketing: bool) -> Consent:
        """Messages on again; ``marketing`` adds the opt-in (a plain "start" keeps the one
        given)."""
        if marketing:
            await self._set(address, stopped=False, marketing=True)
        else:
            await self._set(address, stopped=False)
        return await self.of(address)

    async def forget(self, session: AsyncSession, address: Address) -> int:
        result = await session.execute(
            delete(MessageConsent).where(
                MessageConsent.channel == address.channel,
                MessageConsent.conversation_id == address.conversation_id,
            )
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def _set(self, address: Address, **changes: bool) -> None:
        insert = sqlite_insert if self._database.is_sqlite else postgresql_insert
        values = {"stopped": False, "marketing": False, **changes}
        statement = insert(MessageConsent).values(
            channel=address.channel,
            conversation_id=address.conversation_id,
            updated_at=self._clock(),
            **values,
        )
        statement = statement.on_conflict_do_update(
            index_elements=["channel", "conversation_id"],
            set_={**changes, "updated_at": statement.excluded.updated_at},
        )
        async with self._database.session() as session:
            await session.execute(statement)
