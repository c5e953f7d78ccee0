"""The built-in sandbox gateway: a checkout page of our own server, no account needed.

A link carries the reservation code signed with the server's secret, valid while a hold can
last; nothing on the page can name another reservation.
"""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

SALT = "rsv360-sandbox-checkout"


@dataclass(frozen=True, slots=True)
class SandboxCheckout:
    secret: str
    base_url: str
    max_age_seconds: int

    def link_for(self, code: str) -> str:
        token = URLSafeTimedSerializer(self.secret, salt=SALT).dumps(code)
        return f"{self.base_url}/checkout/sandbox/{token}"

    def code_of(self, token: str) -> str | None:
        """The reservation a link is for; None for a forged or outdated one."""
        try:
            code = URLSafeTimedSerializer(self.secret, salt=SALT).loads(
                token, max_age=self.max_age_seconds
            )
        except BadSignature:
            return None
        return code if isinstance(code, str) else None
