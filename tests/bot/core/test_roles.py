"""Roles from both sources: the bootstrap identities of the settings and the identities linked
to staff accounts; an identity has the higher of its roles."""

from __future__ import annotations

from bot.core.roles import RoleBook


def test_linked_identities_join_the_bootstrap_ones() -> None:
    book = RoleBook(staff=["slack:U0BOOT"], admins=["telegram:1"])
    assert book.role_of("slack", "U0LINK") == "guest"

    book.link({"slack:U0LINK": "staff", "discord:group:desk": "admin", "slack:U0BOOT": "admin"})
    assert book.role_of("slack", "U0LINK") == "staff"
    assert book.role_of("discord", "7", groups=["desk"]) == "admin"
    assert book.role_of("slack", "U0BOOT") == "admin"  # the higher of its two roles
    assert book.role_of("telegram", "1") == "admin"

    book.link({})  # unlinked (or the account disabled): the bootstrap still works
    assert book.role_of("slack", "U0LINK") == "guest"
    assert book.role_of("slack", "U0BOOT") == "staff"
