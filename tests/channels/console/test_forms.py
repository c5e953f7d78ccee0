"""The console's edge parsers: whatever a browser (or an attacker) sends, they answer a bounded,
clean value or None, and never raise."""

from __future__ import annotations

from datetime import date
from urllib.parse import parse_qsl

from hypothesis import given
from hypothesis import strategies as st

from bot.core.text import has_control, is_scalar_text
from channels.console import forms

TOKEN = "A" * 43
anything = st.one_of(st.none(), st.text(), st.integers(), st.binary(), st.lists(st.text()))
fields = st.dictionaries(
    st.sampled_from(
        ["email", "password", "form", "csrf", "role", "identity", "again", "locale", "x"]
    ),
    anything,
)


def test_the_session_cookie_is_read_from_a_browsers_header() -> None:
    assert forms.session_token(f"theme=dark; rsv_console={TOKEN}") == TOKEN
    assert forms.session_token(f'rsv_console="{TOKEN}"') == TOKEN
    assert forms.session_token("rsv_console=short") is None
    assert forms.session_token("rsv_console=" + "A" * 101) is None
    assert forms.session_token("other=" + TOKEN) is None
    assert forms.session_token(None) is None


@given(st.text(max_size=300))
def test_any_cookie_header_gives_a_well_formed_token_or_none(header: str) -> None:
    token = forms.session_token(header)
    assert token is None or forms.TOKEN.fullmatch(token)


@given(st.text(alphabet="abcXYZ019_-", min_size=20, max_size=100), st.text(max_size=50))
def test_a_good_token_survives_other_cookies(token: str, noise: str) -> None:
    name = "".join(char for char in noise if char.isalnum()) or "n"
    header = f"{name}=1; {forms.COOKIE}={token}"
    assert forms.session_token(header) in (token, None)
    assert forms.session_token(f"{forms.COOKIE}={token}") == token


@given(fields)
def test_a_login_form_is_parsed_or_refused_never_raises(form: dict[str, object]) -> None:
    login = forms.login(form)
    if login is not None:
        assert forms.EMAIL.fullmatch(login.email)
        assert login.email == login.email.lower()
        assert 0 < len(login.password) <= forms.MAX_PASSWORD_CHARS
        assert is_scalar_text(login.password)
        assert not has_control(login.password)


@given(st.text(max_size=400))
def test_fields_are_bounded_and_clean(value: str) -> None:
    parsed = forms.field({"name": value}, "name", 200)
    if parsed is not None:
        assert len(parsed) <= 200
        assert is_scalar_text(parsed)
        assert not has_control(parsed)
    else:
        assert len(value) > 200 or not is_scalar_text(value)


def test_a_login_needs_every_field_and_a_real_address() -> None:
    good = {"email": " Ana@Pousada.example ", "password": "pw", "form": "signed"}
    assert forms.login(good) == forms.Login("ana@pousada.example", "pw", "signed")
    assert forms.login({**good, "email": "ana"}) is None
    assert forms.login({**good, "password": ""}) is None
    assert forms.login({**good, "password": "x" * 201}) is None
    assert forms.login({**good, "password": "\ud800"}) is None
    assert forms.login({k: v for k, v in good.items() if k != "form"}) is None


@given(fields, st.one_of(st.none(), st.text(max_size=120)))
def test_a_csrf_token_is_well_formed_or_none(form: dict[str, object], header: str | None) -> None:
    token = forms.csrf(form, header)
    assert token is None or forms.TOKEN.fullmatch(token)


def test_the_form_field_wins_over_the_header() -> None:
    assert forms.csrf({"csrf": TOKEN}, "B" * 43) == TOKEN
    assert forms.csrf({}, "B" * 43) == "B" * 43
    assert forms.csrf({"csrf": "<script>"}, None) is None


def test_a_new_password_must_be_long_and_typed_twice() -> None:
    assert forms.new_password({"password": "x" * 12, "again": "x" * 12}) == "x" * 12
    assert forms.new_password({"password": "x" * 11, "again": "x" * 11}) is None
    assert forms.new_password({"password": "x" * 12, "again": "y" * 12}) is None
    assert forms.new_password({"password": "x" * 12}) is None


@given(fields)
def test_roles_and_identities_are_bounded(form: dict[str, object]) -> None:
    assert forms.role(form) in (None, "staff", "admin")
    identity = forms.identity(form)
    assert identity is None or (0 < len(identity) <= 200 and identity == identity.strip())


@given(st.one_of(st.text(max_size=20), st.integers(), st.none(), st.binary(max_size=10)))
def test_an_id_is_a_positive_number_of_at_most_nine_digits_or_none(value: object) -> None:
    found = forms.number({"alert": value}, "alert")
    if found is not None:
        assert isinstance(value, str)
        assert 0 < found < 10**9
        assert str(found) == value.lstrip("0")


def test_ids_written_otherwise_are_refused() -> None:
    for written in ("", "0", "-3", "+3", " 3", "3.0", "1e3", "١٢", "1234567890"):
        assert forms.number({"alert": written}, "alert") is None, written
    assert forms.number({"alert": "42"}, "alert") == 42


ledger_queries = st.dictionaries(
    st.sampled_from(["gateway", "kind", "since", "until", "reservation", "page", "other"]),
    st.one_of(
        st.text(max_size=30),
        st.sampled_from(["stripe", "refund", "payment", "2026-12-02", "rsv-ab12cd", "3", ""]),
    ),
)


@given(ledger_queries)
def test_a_ledger_filter_is_valid_or_refused_never_raises(query: dict[str, str]) -> None:
    chosen = forms.ledger_filter(query)
    if chosen is None:
        return
    assert chosen.kind in (None, "payment", "refund")
    assert chosen.gateway is None or forms.GATEWAY.fullmatch(chosen.gateway)
    assert chosen.reservation is None or forms.RESERVATION.fullmatch(chosen.reservation)
    assert 0 < chosen.page <= forms.MAX_PAGE
    assert forms.ledger_filter(dict(parse_qsl(chosen.query()))) == chosen  # links keep filters


def test_a_ledger_filter_reads_what_a_browser_sends() -> None:
    chosen = forms.ledger_filter(
        {"gateway": "stripe", "kind": "refund", "since": "2026-12-01", "until": "",
         "reservation": " rsv-ab12cd ", "page": "2"}
    )  # fmt: skip
    assert chosen == forms.LedgerFilter(
        "stripe", "refund", date(2026, 12, 1), None, "RSV-AB12CD", 2
    )
    assert chosen.query(page=None) == (
        "gateway=stripe&kind=refund&since=2026-12-01&reservation=RSV-AB12CD"
    )


@given(st.one_of(st.text(max_size=600), st.none(), st.integers()))
def test_a_reason_is_bounded_clean_text_or_none(value: object) -> None:
    found = forms.reason({"reason": value})
    if found is not None:
        assert 0 < len(found) <= 500
        assert found == found.strip()
        assert not has_control(found)


SEARCHED = ["rsv-ab12cd", "Maria", " ANA@Example.com ", "2026-12-02", "2026-12-09"]
SEARCHED += ["pousada-do-mar", "confirmed", "held", "2", ""]
booking_queries = st.dictionaries(
    st.sampled_from(
        ["code", "email", "name", "since", "until", "property", "state", "page", "other"]
    ),
    st.one_of(st.text(max_size=130), st.sampled_from(SEARCHED)),
)


@given(booking_queries)
def test_a_booking_search_is_valid_or_refused_never_raises(query: dict[str, str]) -> None:
    chosen = forms.booking_filter(query)
    if chosen is None:
        return
    assert chosen.code is None or forms.RESERVATION.fullmatch(chosen.code)
    assert chosen.state is None or chosen.state in forms.BOOKING_STATES
    assert chosen.property is None or forms.SLUG.fullmatch(chosen.property)
    for text in (chosen.email, chosen.name):
        assert text is None or (len(text) > 0 and text == text.strip() and not has_control(text))
    assert chosen.email is None or chosen.email == chosen.email.lower()
    assert chosen.since is None or chosen.until is None or chosen.since <= chosen.until
    assert 0 < chosen.page <= forms.MAX_PAGE
    assert forms.booking_filter(dict(parse_qsl(chosen.query()))) == chosen  # links keep it


def test_a_booking_search_reads_what_a_browser_sends() -> None:
    chosen = forms.booking_filter(
        {"code": " rsv-ab12cd ", "email": " Maria@Example.COM", "name": "Maria  ",
         "since": "2026-12-02", "until": "", "property": "pousada-do-mar", "state": "held",
         "page": "3"}
    )  # fmt: skip
    assert chosen == forms.BookingFilter(
        "RSV-AB12CD", "maria@example.com", "Maria", date(2026, 12, 2), None, "pousada-do-mar",
        "held", 3,
    )  # fmt: skip
    assert forms.booking_filter({}) == forms.BookingFilter()
    assert forms.booking_filter({"since": "2026-12-09", "until": "2026-12-02"}) is None


@given(st.text(max_size=20))
def test_a_booking_code_in_a_path_is_a_code_or_none(raw: str) -> None:
    code = forms.booking_code(raw)
    assert code is None or (forms.RESERVATION.fullmatch(code) and code == raw.upper())
    assert forms.booking_code("rsv-ab12cd") == "RSV-AB12CD"


forecast_queries = st.dictionaries(
    st.sampled_from(["property", "days", "x"]),
    st.one_of(
        st.text(max_size=120),
        st.sampled_from(["7", "30", "90", "pousada-do-mar", "hotel-serra-azul", "-x", "07", ""]),
    ),
)


@given(forecast_queries)
def test_a_forecast_choice_is_valid_or_refused_never_raises(query: dict[str, str]) -> None:
    chosen = forms.forecast_choice(query)
    if chosen is None:
        return
    assert chosen.days in forms.FORECAST_DAYS
    assert chosen.property is None or forms.SLUG.fullmatch(chosen.property)
    assert forms.forecast_choice(dict(parse_qsl(chosen.query()))) == chosen  # the reload link


def test_a_forecast_choice_reads_what_a_browser_sends() -> None:
    assert forms.forecast_choice({}) == forms.ForecastChoice(None, 30)
    assert forms.forecast_choice({"property": "pousada-do-mar", "days": "90"}) == (
        forms.ForecastChoice("pousada-do-mar", 90)
    )
    for refused in ({"days": "12"}, {"days": "007"}, {"property": "Pousada"}, {"property": "a/b"}):
        assert forms.forecast_choice(refused) is None


@given(anything, st.sampled_from(["version", "model"]))
def test_a_model_version_is_bounded_or_none(value: object, name: str) -> None:
    found = forms.model_version({name: value}, name)
    if found is not None:
        assert forms.MODEL_VERSION.fullmatch(found)
        assert len(found) <= 100
        assert "/" not in found
        assert "." not in found


@given(st.text(max_size=200))
def test_a_setting_name_is_one_of_ours_in_form_or_none(raw: str) -> None:
    name = forms.setting_name(raw)
    if name is not None:
        assert name == raw
        assert name.isascii()
        assert ".." not in name
        assert name.count("/") <= 1
        assert len(name) <= 121


def test_setting_names_as_the_page_links_them() -> None:
    for good in ("rate_limits", "alert_routes", "knowledge/pousada-do-mar", "pricing/a1"):
        assert forms.setting_name(good) == good
    for bad in ("", "Rate_limits", "knowledge/", "knowledge/../x", "a/b/c", "/etc", "1", "é"):
        assert forms.setting_name(bad) is None


@given(st.one_of(st.text(max_size=300), st.none(), st.integers(), st.binary(max_size=10)))
def test_a_setting_document_is_bounded_clean_text_or_none(value: object) -> None:
    document = forms.setting_document({"document": value})
    if document is not None:
        assert isinstance(value, str)
        assert is_scalar_text(document)
        assert not has_control(document)
        assert "\r" not in document


def test_a_setting_document_over_64_kib_is_refused() -> None:
    assert forms.setting_document({"document": "a" * (64 * 1024)}) == "a" * (64 * 1024)
    assert forms.setting_document({"document": "a" * (64 * 1024 + 1)}) is None
    assert forms.setting_document({"document": "limit: 1\r\n"}) == "limit: 1\n"
