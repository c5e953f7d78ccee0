"""The partner client: ``fetch`` for every cached read from a partner API, ``call`` for every
other request (the payment gateways' money calls, the LLM): never cached, the same limits,
retries, breaker and metrics.

A read is answered, in order, from the fresh cache (per API type TTL; one worker at a time asks
the partner for a key, the others wait for its answer: the cache layer's stampede protection),
or from the partner: unless its circuit is open or its API type is over its rate limit, one
call with retries on 429, 5xx, timeouts and dropped connections, backoff with jitter between
tries. A good answer is checked by the caller's parser before it is kept, fresh and as the
stale copy; when the partner cannot answer, the stale copy is the answer (``stale=True``, so the
caller can say so), and without one the caller gets a ``PartnerError`` saying why.

A ``call`` is retried only when repeating it cannot do anything twice: its method is idempotent
(GET, PUT, DELETE...) or the caller says it is safe to repeat (it carries the partner's
idempotency key, or it only reads). It answers with the partner's last HTTP answer, whatever its
status, and raises ``PartnerError`` only when there is none: the circuit is open, the API type
is over its limit, or no try got an answer (the caller cannot know whether it happened).
"""

from __future__ import annotations

import asyncio
import hashlib
import random as randomness
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, Literal, TypeVar
from urllib.parse import urlencode

import structlog

from bot.core.clock import Now
from bot.partners.backoff import full_jitter, retry_after_seconds
from bot.partners.breaker import CircuitBreaker
from bot.partners.metrics import PartnerMetrics
from bot.partners.settings import PartnerSettings
from bot.stores.cache import Cache, CacheKind

if TYPE_CHECKING:
    import aiohttp
    from limits import RateLimitItem

    from bot.stores.windows import RateWindows

log = structlog.get_logger("rsv360.partners")

T = TypeVar("T")
Failure = Literal["unavailable", "rate_limited", "malformed"]
MAX_BODY_BYTES = 1024 * 1024
"""The largest partner answer read (and kept): a bigger one is malformed for us."""
RETRIED_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
REPEATABLE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
"""Methods whose repetition changes nothing more than their first call did (RFC 9110, 9.2.2)."""


@dataclass(frozen=True, slots=True)
class PartnerApi:
    """One partner API: its name (metrics, breaker) and its type (rate limits, cache TTL);
    its own longest try and number of retries where they differ from the client's settings."""

    name: str
    kind: str
    timeout_seconds: float | None = None
    retries: int | None = None


@dataclass(frozen=True, slots=True)
class Fetched(Generic[T]):
    value: T
    stale: bool = False
    """The partner could not answer now: this is its last good answer, kept for that."""


@dataclass(frozen=True, slots=True)
class Answer:
    """A partner's HTTP answer to a ``call``, whatever its status (the caller reads its own
    errors: a gateway's refusal carries a code in its body)."""

    status: int
    body: bytes
    headers: Mapping[str, str]
    """Case-insensitive, as HTTP headers are."""


class PartnerError(Exception):
    """The partner gave no usable answer and no stale copy was kept."""

    def __init__(self, api: str, failure: Failure, retry_after: float = 0.0) -> None:
        super().__init__(f"{api}: {failure}")
        self.api, self.failure, self.retry_after = api, failure, retry_after


@dataclass(frozen=True, slots=True)
class _Try:
    result: str
    status: int | None = None
    raw: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    reason: str = ""
    """Why an answer is malformed, for the log."""

    @property
    def body(self) -> str:
        return self.raw.decode("utf-8")


class PartnerClient:
    def __init__(
        self,
        cache: Cache,
        windows: RateWindows | None,
        limits: Mapping[str, RateLimitItem],
        settings: PartnerSettings,
        metrics: PartnerMetrics,
        *,
        now: Now,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = asyncio.sleep,
        random: Callable[[], float] = randomness.random,
    ) -> None:
        """``windows`` count the ``limits`` per API type across every worker; None counts none
        (a command's client, whose few calls one after another need no limit)."""
        self._cache = cache
        self._windows = windows
        self._limits = dict(limits)
        self._settings = settings
        self.metrics = metrics
        self._monotonic = monotonic
        self._sleep = sleep
        self._random = random
        self._now = now
        self._breakers: dict[str, CircuitBreaker] = {}
        self._session: aiohttp.ClientSession | None = None

    def replace_limits(self, limits: Mapping[str, RateLimitItem]) -> None:
        """Count calls by ``limits`` from the next one on (a setting saved in the console)."""
        self._limits = dict(limits)

    def api(
        self,
        name: str,
        kind: str,
        *,
        timeout_seconds: float | None = None,
        retries: int | None = None,
    ) -> PartnerApi:
        """Declare a partner API (once per name): its metrics start at 0, its breaker closed.
        ``timeout_seconds`` and ``retries``, when given, replace the client's settings for it
        (a payment gateway may take longer than a weather forecast; the LLM has a budget)."""
        if name not in self._breakers:
            breaker = CircuitBreaker(
                self._settings.breaker_failures,
                self._settings.breaker_open_seconds,
                self._monotonic,
            )
            self._breakers[name] = breaker
            self.metrics.start([name])
            self.metrics.breaker.labels(name).set_function(lambda: float(breaker.state))
        return PartnerApi(name, kind, timeout_seconds, retries)

    def breaker(self, api: PartnerApi) -> CircuitBreaker:
        return self._breakers[api.name]

    async def fetch(
        self,
        api: PartnerApi,
        url: str,
        params: Mapping[str, str],
        parse: Callable[[str], T],
    ) -> Fetched[T]:
        """The partner's answer to ``GET url?params``, parsed; ``parse`` raises on a malformed
        body (which is then neither kept nor retried)."""
        key = request_key(url, params)
        called = False

        async def call() -> str:
            nonlocal called
            called = True
            return await self._call(api, url, params, parse, key)

        try:
            body = await self._cache.get_or_compute(self._fresh_kind(api), key, call)
        except PartnerError as error:
            stale = await self._stale(api, key, parse)
            if stale is None:
                self.metrics.answers.labels(api.name, "none").inc()
                raise
            log.info("partner_answered_stale", api=api.name, failure=error.failure)
            self.metrics.answers.labels(api.name, "stale").inc()
            return Fetched(stale, stale=True)
        self.metrics.answers.labels(api.name, "partner" if called else "cache").inc()
        return Fetched(parse(body))

    async def call(
        self,
        api: PartnerApi,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        json: object = None,
        data: bytes | str | Mapping[str, str] | None = None,
        safe_to_repeat: bool = False,
    ) -> Answer:
        """One request to the partner, never cached: retried on 429, 5xx, timeouts and dropped
        connections only when its method is idempotent or ``safe_to_repeat`` (it carries the
        partner's idempotency key, or it only reads). The last answer is returned whatever its
        status; ``PartnerError`` when no answer came or none could be asked for."""
        method = method.upper()
        breaker = self.breaker(api)
        if not breaker.allow():
            self.metrics.skipped.labels(api.name, "breaker_open").inc()
            self.metrics.answers.labels(api.name, "none").inc()
            raise PartnerError(api.name, "unavailable")
        retries = self._retries(api) if safe_to_repeat or method in REPEATABLE_METHODS else 0
        request = _Request(method, url, {}, headers or {}, json, data)
        try:
            await self._count_against_limit(api)
            tried = await self._tries(api, request, retries, _judged)
        except PartnerError:
            breaker.release()  # over our own limit: no verdict on the partner's health
            self.metrics.answers.labels(api.name, "none").inc()
            raise
        except BaseException:
            breaker.release()
            raise
        if tried.result in ("ok", "client_error"):
            breaker.succeeded()  # answered, even with a refusal: the partner is up
        else:
            breaker.failed()
        if tried.result == "malformed":
            log.warning("partner_answer_malformed", api=api.name, reason=tried.reason)
            self.metrics.answers.labels(api.name, "none").inc()
            raise PartnerError(api.name, "malformed")
        if tried.status is None:  # no try got an answer: whether it happened is unknown
            self.metrics.answers.labels(api.name, "none").inc()
            raise PartnerError(api.name, "unavailable")
        self.metrics.answers.labels(api.name, "partner").inc()
        return Answer(tried.status, tried.raw, tried.headers)

    async def _stale(self, api: PartnerApi, key: str, parse: Callable[[str], T]) -> T | None:
        """The kept copy, parsed; None when there is none or today's parser refuses it (kept
        by an older version of the bot)."""
        body = await self._cache.get(self._stale_kind(api), key)
        if body is None:
            return None
        try:
            return parse(body)
        except Exception:
            log.warning("partner_stale_copy_unreadable", api=api.name, exc_info=True)
            return None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _fresh_kind(self, api: PartnerApi) -> CacheKind:
        ttl = {
            "weather": self._settings.weather_cache_seconds,
            "events": self._settings.events_cache_seconds,
        }.get(api.kind, 0)
        return CacheKind(f"partner_{api.kind}", ttl, max_bytes=MAX_BODY_BYTES)

    def _stale_kind(self, api: PartnerApi) -> CacheKind:
        return CacheKind(
            f"partner_{api.kind}_stale", self._settings.stale_seconds, max_bytes=MAX_BODY_BYTES
        )

    async def _call(
        self,
        api: PartnerApi,
        url: str,
        params: Mapping[str, str],
        parse: Callable[[str], object],
        key: str,
    ) -> str:
        breaker = self.breaker(api)
        if not breaker.allow():
            self.metrics.skipped.labels(api.name, "breaker_open").inc()
            raise PartnerError(api.name, "unavailable")
        try:
            await self._count_against_limit(api)
            body = await self._with_retries(api, url, params, parse)
        except PartnerError as error:
            if error.failure == "rate_limited":
                breaker.release()  # ours, not the partner's: no verdict on its health
            else:
                breaker.failed()
            raise
        except BaseException:
            breaker.release()  # cancelled: a half-open trial must not stay taken forever
            raise
        breaker.succeeded()
        await self._cache.put(self._stale_kind(api), key, body)
        return body

    async def _count_against_limit(self, api: PartnerApi) -> None:
        item = self._limits.get(api.kind)
        if item is None or self._windows is None:
            return
        if await self._windows.hit(item, "partner", api.kind):
            return
        self.metrics.skipped.labels(api.name, "rate_limited").inc()
        stats = await self._windows.stats(item, "partner", api.kind)
        log.info("partner_rate_limited", api=api.name, kind=api.kind)
        raise PartnerError(api.name, "rate_limited", max(stats.reset_time - time.time(), 1.0))

    async def _with_retries(
        self,
        api: PartnerApi,
        url: str,
        params: Mapping[str, str],
        parse: Callable[[str], object],
    ) -> str:
        def judge(status: int, raw: bytes, headers: Mapping[str, str]) -> _Try:
            return _checked(_judged(status, raw, headers), parse)

        request = _Request("GET", url, params, {}, None, None)
        tried = await self._tries(api, request, self._retries(api), judge)
        if tried.result == "ok":
            return tried.body
        if tried.result == "malformed":
            log.warning("partner_answer_malformed", api=api.name, reason=tried.reason)
            raise PartnerError(api.name, "malformed")
        raise PartnerError(api.name, "unavailable")

    async def _tries(
        self,
        api: PartnerApi,
        request: _Request,
        retries: int,
        judge: Callable[[int, bytes, Mapping[str, str]], _Try],
    ) -> _Try:
        """Up to ``retries`` + 1 tries, each counted by its result; the last one. Ended early
        by an answer, a refusal (4xx other than 408, 425 and 429) or a malformed answer (asking
        again gets the same)."""
        settings = self._settings
        for attempt in range(retries + 1):
            tried = await self._once(api, request, judge)
            self.metrics.calls.labels(api.name, tried.result).inc()
            if tried.result in ("ok", "malformed"):
                return tried
            log.info("partner_call_failed", api=api.name, result=tried.result, status=tried.status)
            if tried.result == "client_error" or attempt == retries:
                return tried
            delay = retry_after_seconds(
                tried.headers.get("Retry-After"), self._now(), settings.backoff_max_seconds
            )
            if delay is None:
                delay = full_jitter(
                    attempt, settings.backoff_seconds, settings.backoff_max_seconds, self._random
                )
            await self._sleep(delay)  # type: ignore[misc]
        raise AssertionError("range(retries + 1) is never empty")

    async def _once(
        self,
        api: PartnerApi,
        request: _Request,
        judge: Callable[[int, bytes, Mapping[str, str]], _Try],
    ) -> _Try:
        # aiohttp is imported where a partner is called, so commands that call none start
        # without it (docs/benchmarks.md, "Command-line start-up").
        import aiohttp

        timeout = api.timeout_seconds or self._settings.timeout_seconds
        body: dict[str, object] = {}
        if request.json is not None:
            body["json"] = request.json
        if request.data is not None:
            body["data"] = request.data
        started = self._monotonic()
        try:
            async with self._client().request(
                request.method,
                request.url,
                params=dict(request.params),
                headers=dict(request.headers),
                timeout=aiohttp.ClientTimeout(total=timeout),
                **body,  # type: ignore[arg-type]
            ) as response:
                raw = await response.content.read(MAX_BODY_BYTES + 1)
                tried = judge(response.status, raw, response.headers.copy())
        except TimeoutError:
            tried = _Try("timeout")
        except aiohttp.ClientError:
            tried = _Try("unreachable")
        self.metrics.seconds.labels(api.name).observe(self._monotonic() - started)
        return tried

    def _retries(self, api: PartnerApi) -> int:
        return self._settings.retries if api.retries is None else api.retries

    def _client(self) -> aiohttp.ClientSession:
        import aiohttp

        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session


@dataclass(frozen=True, slots=True)
class _Request:
    method: str
    url: str
    params: Mapping[str, str]
    headers: Mapping[str, str]
    json: object
    data: bytes | str | Mapping[str, str] | None


def _judged(status: int, raw: bytes, headers: Mapping[str, str]) -> _Try:
    if status == 429:
        return _Try("throttled", status, raw, headers)
    if status in RETRIED_STATUSES or status >= 500:
        return _Try("server_error", status, raw, headers)
    if status >= 400:
        return _Try("client_error", status, raw, headers)
    if len(raw) > MAX_BODY_BYTES:
        return _Try("malformed", status, reason=f"over {MAX_BODY_BYTES} bytes")
    return _Try("ok", status, raw, headers)


def _checked(tried: _Try, parse: Callable[[str], object]) -> _Try:
    """An answer that came back whole, judged by the caller's parser."""
    if tried.result != "ok":
        return tried
    try:
        parse(tried.body)
    except Exception as error:
        # Whatever a parser trips on (a body that is not UTF-8 included), a partner's bad
        # answer must not reach the guest.
        return _Try("malformed", tried.status, reason=f"{type(error).__name__}: {error}"[:300])
    return tried


def request_key(url: str, params: Mapping[str, str]) -> str:
    """The cache key of one read: the URL and its parameters in a fixed order, hashed."""
    query = urlencode(sorted(params.items()))
    return hashlib.sha256(f"{url}?{query}".encode()).hexdigest()[:32]
