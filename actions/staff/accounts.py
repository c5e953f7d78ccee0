"""Staff accounts and their console sessions.

Passwords are Argon2 hashes (``argon2-cffi``, its recommended parameters), checked in a thread:
a check costs tens of milliseconds of CPU that the event loop must not wait for. An unknown
e-mail is checked against a dummy hash, so the answer takes as long as for a wrong password.
A session's cookie carries a random token; the table keeps its SHA-256, so a copy of the
database signs nobody in. Idle and absolute expiry are checked on every use.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from actions.staff.tables import StaffAccount, StaffAudit, StaffIdentity, StaffSession
from bot.core.clock import Now
from bot.stores.database import Database

StaffRole = Literal["staff", "admin"]
ROLES: tuple[StaffRole, ...] = ("staff", "admin")
MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 200
SEEN_EVERY = timedelta(minutes=1)
"""A session's last use is written at most this often: not one write per request."""


class AccountExists(ValueError):
    pass


class UnknownAccount(LookupError):
    pass


class InvalidIdentity(ValueError):
    pass


IDENTITY = re.compile(r"[a-z]{2,20}:(group:)?[A-Za-z0-9_.@+-]{1,120}")
"""A chat identity as ``bot.core.roles`` reads them: ``slack:U012AB``, ``discord:group:987``."""


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    email: str
    role: StaffRole
    locale: str | None
    must_change_password: bool
    disabled: bool
    identities: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A live console session: who, and the token its forms must carry."""

    account: Account
    csrf_token: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AuditLine:
    at: datetime
    actor: str
    action: str
    subject: str
    address: str | None
    details: dict[str, Any]


def normalised_email(email: str) -> str:
    return email.strip().lower()


def one_time_password() -> str:
    return secrets.token_urlsafe(12)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class StaffDirectory:
    def __init__(self, database: Database, now: Now) -> None:
        self._database = database
        self._clock = now
        self._hasher = PasswordHasher()
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))

    def _now(self) -> datetime:
        return self._clock().astimezone(UTC)  # SQLite keeps no time zone: UTC throughout

    # -- accounts --

    async def add(self, email: str, role: StaffRole, actor: str) -> str:
        """Create the account; its one-time password (changed at the first sign-in)."""
        email = normalised_email(email)
        password = one_time_password()
        hashed = await asyncio.to_thread(self._hasher.hash, password)
        async with self._database.session() as session:
            if await self._account(session, email) is not None:
                raise AccountExists(email)
            session.add(
                StaffAccount(
                    email=email,
                    role=role,
                    password_hash=hashed,
                    must_change_password=True,
                    locale=None,
                    disabled_at=None,
                    created_at=self._now(),
                )
            )
            self._audit(session, actor, "account_added", email, None, {"role": role})
        return password

    async def accounts(self) -> list[Account]:
        async with self._database.session() as session:
            rows = (await session.scalars(select(StaffAccount).order_by(StaffAccount.email))).all()
            links = (await session.execute(select(StaffIdentity))).scalars().all()
        by_account: dict[int, list[str]] = {}
        for link in links:
            by_account.setdefault(link.account_id, []).append(link.identity)
        return [_account(row, tuple(sorted(by_account.get(row.id, [])))) for row in rows]

    async def disable(self, email: str, actor: str) -> None:
        """Disabled, and signed out everywhere."""
        async with self._database.session() as session:
            row = await self._existing(session, normalised_email(email))
            row.disabled_at = self._now()
            await session.execute(delete(StaffSession).where(StaffSession.account_id == row.id))
            self._audit(session, actor, "account_disabled", row.email, None, {})

    async def reset_password(self, email: str, actor: str) -> str:
        """A new one-time password; the account is enabled again and signed out everywhere."""
        password = one_time_password()
        hashed = await asyncio.to_thread(self._hasher.hash, password)
        async with self._database.session() as session:
            row = await self._existing(session, normalised_email(email))
            row.password_hash, row.must_change_password, row.disabled_at = hashed, True, None
            await session.execute(delete(StaffSession).where(StaffSession.account_id == row.id))
            self._audit(session, actor, "password_reset", row.email, None, {})
        return password

    async def change_password(self, account_id: int, password: str, address: str | None) -> None:
        """The staff member's own new password; their other sessions end."""
        hashed = await asyncio.to_thread(self._hasher.hash, password)
        async with self._database.session() as session:
            row = await session.get(StaffAccount, account_id)
            if row is None:
                raise UnknownAccount(str(account_id))
            row.password_hash, row.must_change_password = hashed, False
            self._audit(session, row.email, "password_changed", row.email, address, {})

    async def set_locale(self, account_id: int, locale: str) -> None:
        async with self._database.session() as session:
            row = await session.get(StaffAccount, account_id)
            if row is not None:
                row.locale = locale

    async def authenticate(self, email: str, password: str) -> Account | None:
        """The enabled account whose password this is; None otherwise (in the same time)."""
        async with self._database.session() as session:
            row = await self._account(session, normalised_email(email))
        hashed = row.password_hash if row is not None else self._dummy_hash
        if not await asyncio.to_thread(self._verify, hashed, password):
            return None
        if row is None or row.disabled_at is not None:
            return None
        return _account(row)

    def _verify(self, hashed: str, password: str) -> bool:
        try:
            return self._hasher.verify(hashed, password)
        except (VerificationError, InvalidHashError):
            return False

    # -- chat identities --

    async def link(self, email: str, identity: str, actor: str) -> None:
        """Link ``identity`` to the account (moved from another account if linked there)."""
        if not IDENTITY.fullmatch(identity):
            raise InvalidIdentity(identity)
        async with self._database.session() as session:
            row = await self._existing(session, normalised_email(email))
            await session.execute(delete(StaffIdentity).where(StaffIdentity.identity == identity))
            session.add(StaffIdentity(identity=identity, account_id=row.id))
            self._audit(session, actor, "identity_linked", row.email, None, {"identity": identity})

    async def unlink(self, identity: str, actor: str) -> bool:
        async with self._database.session() as session:
            link = await session.get(StaffIdentity, identity)
            if link is None:
                return False
            account = await session.get(StaffAccount, link.account_id)
            await session.delete(link)
            subject = account.email if account is not None else "-"
            self._audit(session, actor, "identity_unlinked", subject, None, {"identity": identity})
        return True

    async def linked_roles(self) -> dict[str, StaffRole]:
        """The role of every chat identity linked to an enabled account."""
        async with self._database.session() as session:
            rows = await session.execute(
                select(StaffIdentity.identity, StaffAccount.role)
                .join(StaffAccount, StaffAccount.id == StaffIdentity.account_id)
                .where(StaffAccount.disabled_at.is_(None))
            )
            return {identity: _role(role) for identity, role in rows.all()}

    # -- sessions --

    async def start_session(self, account: Account, address: str | None) -> str:
        """A new session's token (for the cookie), audited as a sign-in."""
        token = secrets.token_urlsafe(32)
        now = self._now()
        async with self._database.session() as session:
            session.add(
                StaffSession(
                    token_hash=token_hash(token),
                    account_id=account.id,
                    csrf_token=secrets.token_urlsafe(32),
                    created_at=now,
                    seen_at=now,
                )
            )
            self._audit(session, account.email, "signed_in", account.email, address, {})
        return token

    async def session(self, token: str, idle: timedelta, absolute: timedelta) -> SignedIn | None:
        """The live session of this token; an expired one is ended."""
        now = self._now()
        async with self._database.session() as session:
            found = (
                await session.execute(
                    select(StaffSession, StaffAccount)
                    .join(StaffAccount, StaffAccount.id == StaffSession.account_id)
                    .where(StaffSession.token_hash == token_hash(token))
                )
            ).one_or_none()
            if found is None:
                return None
            row, account = found
            created, seen = _aware(row.created_at), _aware(row.seen_at)
            if account.disabled_at is not None or now - seen > idle or now - created > absolute:
                await session.delete(row)
                return None
            if now - seen > SEEN_EVERY:
                row.seen_at = now
            return SignedIn(_account(account), row.csrf_token, created)

    async def end_session(self, token: str, actor: str, address: str | None) -> None:
        async with self._database.session() as session:
            await session.execute(
                delete(StaffSession).where(StaffSession.token_hash == token_hash(token))
            )
            self._audit(session, actor, "signed_out", actor, address, {})

    async def end_all_sessions(self, account: Account, address: str | None) -> int:
        async with self._database.session() as session:
            ended = await session.execute(
                delete(StaffSession).where(StaffSession.account_id == account.id)
            )
            count = int(getattr(ended, "rowcount", 0) or 0)
            self._audit(session, account.email, "signed_out_everywhere", account.email, address, {})
        return count

    # -- audit --

    async def record(
        self, actor: str, action: str, subject: str, address: str | None, **details: Any
    ) -> None:
        async with self._database.session() as session:
            self._audit(session, actor, action, subject, address, details)

    async def audit_log(self, limit: int = 50) -> list[AuditLine]:
        async with self._database.session() as session:
            rows = await session.scalars(
                select(StaffAudit).order_by(StaffAudit.at.desc(), StaffAudit.id.desc()).limit(limit)
            )
            return [
                AuditLine(_aware(r.at), r.actor, r.action, r.subject, r.address, dict(r.details))
                for r in rows
            ]

    async def count(self) -> int:
        async with self._database.session() as session:
            return int(await session.scalar(select(func.count(StaffAccount.id))) or 0)

    def _audit(
        self,
        session: AsyncSession,
        actor: str,
        action: str,
        subject: str,
        address: str | None,
        details: dict[str, Any],
    ) -> None:
        session.add(
            StaffAudit(
                at=self._now(),
                actor=actor[:254],
                action=action,
                subject=subject[:254],
                address=address[:64] if address else None,
                details=details,
            )
        )

    async def _account(self, session: AsyncSession, email: str) -> StaffAccount | None:
        return await session.scalar(select(StaffAccount).where(StaffAccount.email == email))

    async def _existing(self, session: AsyncSession, email: str) -> StaffAccount:
        row = await self._account(session, email)
        if row is None:
            raise UnknownAccount(email)
        return row


def _role(value: str) -> StaffRole:
    return "admin" if value == "admin" else "staff"


def _account(row: StaffAccount, identities: tuple[str, ...] = ()) -> Account:
    return Account(
        row.id,
        row.email,
        _role(row.role),
        row.locale,
        row.must_change_password,
        row.disabled_at is not None,
        identities,
    )


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive UTC datetimes."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
