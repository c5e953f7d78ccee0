"""Who is staff: every user resolves to a role from configured identities.

An identity is ``channel:user_id`` (``telegram:123456``, ``slack:U012AB``) or
``channel:group:group_id`` for a provider's groups (a Slack user group, a Discord server role),
which the channel adapter passes along when it knows them.

Two sources: the identities configured in settings (``RSV_STAFF_IDS``, ``RSV_ADMIN_IDS``: the
bootstrap) and those linked to staff accounts in the database, which the composition root
hands over with ``link`` and refreshes; an identity has the higher of its roles.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bot.core.types import Role


class RoleBook:
    def __init__(self, staff: Iterable[str] = (), admins: Iterable[str] = ()) -> None:
        self._staff = frozenset(staff)
        self._admins = frozenset(admins)
        self._linked: dict[str, Role] = {}

    def link(self, identities: Mapping[str, Role]) -> None:
        """Replace the identities linked to accounts (``slack:U012AB`` → ``staff``)."""
        self._linked = dict(identities)

    def role_of(self, channel: str, user_id: str, groups: Iterable[str] = ()) -> Role:
        identities = {f"{channel}:{user_id}", *(f"{channel}:group:{group}" for group in groups)}
        linked = {self._linked.get(identity) for identity in identities}
        if identities & self._admins or "admin" in linked:
            return "admin"
        if identities & self._staff or "staff" in linked:
            return "staff"
        return "guest"
