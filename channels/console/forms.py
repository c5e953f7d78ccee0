"""What a browser sends the console, parsed at the edge: the session cookie and the forms.

Every parser returns a value or None (never raises) and bounds what it accepts, so a hostile
body, a huge field or invalid Unicode gets a clear refusal and reaches no service.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from http.cookies import CookieError, SimpleCookie
from urllib.parse import urlencode

from bot.core.text import clean, is_scalar_text
from channels.payment_admin import MAX_REASON_CHARS

COOKIE = "rsv_console"
TOKEN = re.compile(r"[A-Za-z0-9_-]{20,100}")
"""A session or CSRF token as ``secrets.token_urlsafe`` writes them."""
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s.]{1,63}")
MAX_EMAIL_CHARS = 254
MAX_PASSWORD_CHARS = 200
MIN_PASSWORD_CHARS = 12
ROLES = ("staff", "admin")
GATEWAY = re.compile(r"[a-z][a-z0-9_]{0,19}")
RESERVATION = re.compile(r"RSV-[A-Z0-9]{6}")
LEDGER_KINDS = ("payment", "refund")
BOOKING_STATES = ("held", "pending_payment", "confirmed", "cancelled", "expired")
MAX_SEARCH_CHARS = 120
MAX_PAGE = 100_000
SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,79}")
"""A property's slug, as the catalog writes them."""
FORECAST_DAYS = (7, 30, 90)
MODEL_VERSION = re.compile(r"[a-z][a-z0-9-]{0,99}")
"""A model version (``demand-20261129201502``) or a model's name (``demand``)."""


@dataclass(frozen=True, slots=True)
class LedgerFilter:
    """The ledger page's filters; ``until`` is the last day included (the hotel's days)."""

    gateway: str | None = None
    kind: str | None = None
    since: date | None = None
    until: date | None = None
    reservation: str | None = None
    page: int = 1

    def query(self, **changed: object) -> str:
        """The filters as a query string (for the CSV link and the next page)."""
        values = {
            "gateway": self.gateway,
            "kind": self.kind,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "reservation": self.reservation,
            "page": self.page if self.page != 1 else None,
            **changed,
        }
        return urlencode({k: v for k, v in values.items() if v not in (None, "")})


@dataclass(frozen=True, slots=True)
class BookingFilter:
    """The Bookings page's search: a code, parts of the guest's e-mail and name (any case), the
    days a stay overlaps (``until`` included), a property's slug, a state."""

    code: str | None = None
    email: str | None = None
    name: str | None = None
    since: date | None = None
    until: date | None = None
    property: str | None = None
    state: str | None = None
    page: int = 1

    def query(self, **changed: object) -> str:
        """The search as a query string (for the next page)."""
        values = {
            "code": self.code,
            "email": self.email,
            "name": self.name,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "property": self.property,
            "state": self.state,
            "page": self.page if self.page != 1 else None,
            **changed,
        }
        return urlencode({k: v for k, v in values.items() if v not in (None, "")})


@dataclass(frozen=True, slots=True)
class Login:
    email: str
    password: str
    form_token: str


def session_token(cookie_header: str | None) -> str | None:
    """The console session's token from a ``Cookie`` header, when well formed."""
    if not cookie_header or len(cookie_header) > 8192:
        return None
    cookies: SimpleCookie = SimpleCookie()
    try:
        cookies.load(cookie_header)
    except CookieError:
        return None
    morsel = cookies.get(COOKIE)
    return morsel.value if morsel is not None and TOKEN.fullmatch(morsel.value) else None


def field(form: Mapping[str, object], name: str, max_chars: int) -> str | None:
    """A text field, at most ``max_chars`` long, cleaned (``bot.core.text.clean``); None if
    absent, not text, too long or not encodable."""
    value = form.get(name)
    if not isinstance(value, str) or len(value) > max_chars or not is_scalar_text(value):
        return None
    return clean(value)


def number(form: Mapping[str, object], name: str) -> int | None:
    """A positive whole number of at most nine digits (an id), else None."""
    value = form.get(name)
    if not isinstance(value, str) or not value.isascii() or not value.isdigit():
        return None
    return int(value) if 0 < len(value) <= 9 and int(value) > 0 else None


def email(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip().lower()
    return value if len(value) <= MAX_EMAIL_CHARS and EMAIL.fullmatch(value) else None


def login(form: Mapping[str, object]) -> Login | None:
    address = email(field(form, "email", MAX_EMAIL_CHARS))
    password = field(form, "password", MAX_PASSWORD_CHARS)
    form_token = field(form, "form", 300)
    if address is None or not password or not form_token:
        return None
    return Login(address, password, form_token)


def csrf(form: Mapping[str, object], header: str | None) -> str | None:
    """The CSRF token of a state-changing request: the form's field, else the header."""
    value = form.get("csrf") if isinstance(form.get("csrf"), str) else header
    return value if isinstance(value, str) and TOKEN.fullmatch(value) else None


def new_password(form: Mapping[str, object]) -> str | None:
    """The new password when both fields agree and it is long enough; else None."""
    first = field(form, "password", MAX_PASSWORD_CHARS)
    again = field(form, "again", MAX_PASSWORD_CHARS)
    if first is None or first != again or len(first) < MIN_PASSWORD_CHARS:
        return None
    return first


def role(form: Mapping[str, object]) -> str | None:
    value = field(form, "role", 10)
    return value if value in ROLES else None


def identity(form: Mapping[str, object]) -> str | None:
    """A chat identity to link; its form (``slack:U012AB``) is the directory's to check."""
    value = field(form, "identity", 200)
    return value.strip() or None if value is not None else None


def ledger_filter(query: Mapping[str, str]) -> LedgerFilter | None:
    """The ledger's filters from a query string; None when one is given and is not valid (an
    empty one is no filter)."""
    given = {name: query.get(name, "").strip() for name in LEDGER_FIELDS}
    if any(len(value) > 20 for value in given.values()):
        return None
    gateway, kind, reservation = given["gateway"], given["kind"], given["reservation"].upper()
    if (gateway and not GATEWAY.fullmatch(gateway)) or (kind and kind not in LEDGER_KINDS):
        return None
    if reservation and not RESERVATION.fullmatch(reservation):
        return None
    try:
        since, until = _day(given["since"]), _day(given["until"])
    except ValueError:
        return None
    page = given["page"] or "1"
    if not (page.isascii() and page.isdigit()) or not 0 < int(page) <= MAX_PAGE:
        return None
    return LedgerFilter(gateway or None, kind or None, since, until, reservation or None, int(page))


LEDGER_FIELDS = ("gateway", "kind", "since", "until", "reservation", "page")


def _day(value: str) -> date | None:
    """An ISO day (what ``<input type=date>`` sends), None when empty; ValueError otherwise."""
    if not value:
        return None
    if not value.isascii() or len(value) != 10:
        raise ValueError(value)
    return date.fromisoformat(value)


BOOKING_FIELDS = ("code", "email", "name", "since", "until", "property", "state", "page")


def booking_filter(query: Mapping[str, str]) -> BookingFilter | None:
    """The Bookings page's search from a query string; None when a field is given and is not
    valid (an empty one is no filter), or the days are the wrong way round."""
    given = {name: query.get(name, "") for name in BOOKING_FIELDS}
    if any(len(value) > MAX_SEARCH_CHARS or not is_scalar_text(value) for value in given.values()):
        return None
    given = {name: clean(value).strip() for name, value in given.items()}
    code, slug, state = given["code"].upper(), given["property"], given["state"]
    if code and not RESERVATION.fullmatch(code):
        return None
    if (slug and not SLUG.fullmatch(slug)) or (state and state not in BOOKING_STATES):
        return None
    try:
        since, until = _day(given["since"]), _day(given["until"])
    except ValueError:
        return None
    if since is not None and until is not None and until < since:
        return None
    page = given["page"] or "1"
    if not (page.isascii() and page.isdigit()) or not 0 < int(page) <= MAX_PAGE:
        return None
    return BookingFilter(
        code or None,
        given["email"].lower() or None,
        given["name"] or None,
        since,
        until,
        slug or None,
        state or None,
        int(page),
    )


def booking_code(raw: str) -> str | None:
    """A reservation's code from a path (any case); None for anything else."""
    code = raw.upper() if raw.isascii() else ""
    return code if RESERVATION.fullmatch(code) else None


def reason(form: Mapping[str, object]) -> str | None:
    """A refusal's reason for the guest: required, at most ``MAX_REASON_CHARS``."""
    value = field(form, "reason", MAX_REASON_CHARS)
    return value.strip() if value is not None and value.strip() else None


@dataclass(frozen=True, slots=True)
class ForecastChoice:
    """The Forecasts page's choice: a property (None: the first) and the next ``days`` days."""

    property: str | None = None
    days: int = 30

    def query(self) -> str:
        return urlencode({"property": self.property or "", "days": self.days})


def forecast_choice(query: Mapping[str, str]) -> ForecastChoice | None:
    """The property and period from a query string; None when either is given and not valid
    (absent: the first property, 30 days)."""
    slug, days = query.get("property", "").strip(), query.get("days", "").strip()
    if slug and not SLUG.fullmatch(slug):
        return None
    if days and days not in {str(choice) for choice in FORECAST_DAYS}:
        return None
    return ForecastChoice(slug or None, int(days) if days else 30)


def model_version(form: Mapping[str, object], name: str) -> str | None:
    """A model version or a model's name from a form; whether it exists is the registry's to
    say."""
    value = field(form, name, 100)
    return value if value is not None and MODEL_VERSION.fullmatch(value) else None


SETTING_NAME = re.compile(r"[a-z][a-z_]{0,39}(/[a-z0-9][a-z0-9-]{0,79})?")
"""A setting's name: ``rate_limits``, ``knowledge/<slug>``; whether it exists is the desk's."""
MAX_DOCUMENT_CHARS = 64 * 1024
"""A setting's YAML document (the owners' parsers refuse a larger one too)."""


def setting_name(raw: str) -> str | None:
    """A setting's name from a path; None for anything else."""
    return raw if raw.isascii() and SETTING_NAME.fullmatch(raw) else None


def setting_document(form: Mapping[str, object]) -> str | None:
    """A setting's YAML document from the form (line breaks as ``\\n``, no control characters
    but tabs); None when absent, too long or not text. Empty is a document (an empty file)."""
    return field(form, "document", MAX_DOCUMENT_CHARS)
