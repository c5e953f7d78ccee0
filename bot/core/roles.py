"""Who is staff: every user resolves to a role from configured identities.

An identity is ``channel:user_id`` (``telegram:123456``, ``slack:U012AB``) or
``channel:group:group_id`` for a provider's groups (a Slack user group, a Discord server role),
which the channel adapter passes along when it knows them.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.core.types import Role


class RoleBook:
    def __init__(self, staff: Iterable[str] = (), admins: Iterable[str] = ()) -> None:
        self._staff = frozenset(staff)
        self._admins = frozenset(admins)

    def role_of(self, channel: str, user_id: str, groups: Iterable[str] = ()) -> Role:
        identities = {f"{channel}:{user_id}", *(f"{channel}:group:{group}" for group in groups)}
        if identities & self._admins:
            return "admin"
        if identities & self._staff:
            return "staff"
        return "guest"
