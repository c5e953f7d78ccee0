"""The partner client: one ``fetch`` for every read from a partner API.

A read is answered, in order, from the fresh cache (per API type TTL; one worker at a time asks
the partner for a key, the others wait for its answer: the cache layer's stampede protection),
or from the partner: unless its circuit is open or its API type is over its rate limit, one
call with retries on 429, 5xx, timeouts and dropped connections, backoff with jitter between
tries. A good answer is checked by the caller's parser before it is kept, fresh and as the
stale copy; when the partner cannot answer, the stale copy is the answer (``stale=True``, so the
caller can say so), and without one the caller gets a ``PartnerError`` saying why.
"""

from __future__ import annotations

import asyncio
import hashlib
import random as randomness
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Generic, Literal, TypeVar
from urllib.parse import urlencode

import structlog
from limits import RateLimitItem

from bot.partners.backoff import full_jitter, retry_after_seconds
from bot.partners.breaker import CircuitBreaker
from bot.partners.metrics import PartnerMetrics
from bot.partners.settings import PartnerSettings
from bot.stores.cache import Cache, CacheKind
from bot.stores.windows import RateWindows

if TYPE_CHECKING:
    import aiohttp

log = structlog.get_logger("rsv360.partners")

T = TypeVar("T")
Failure = Literal["unavailable", "rate_limited", "malformed"]
MAX_BODY_BYTES = 1024 * 1024
"""The largest partner answer read (and kept): a bigger one is malformed for us."""
RETRIED_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class PartnerApi:
    """One partner API: its name (metrics, breaker) and its type (rate limits, cache TTL)."""

    name: str
    kind: str


@dataclass(frozen=True, slots=True)
class Fetched(Generic[T]):
    value: T
    stale: bool = False
    """The partner could not answer now: this is its last good answer, kept for that."""


class PartnerError(Exception):
    """The partner gave no usable answer and no stale copy was kept."""

    def __init__(self, api: str, failure: Failure, retry_after: float = 0.0) -> None:
        super().__init__(f"{api}: {failure}")
        self.api, self.failure, self.retry_after = api, failure, retry_after


@dataclass(frozen=True, slots=True)
class _Try:
    result: str
    status: int | None = None
    body: str = ""
    retry_after: str | None = None
    reason: str = ""
    """Why an answer is malformed, for the log."""


class PartnerClient:
    def __init__(
        self,
        cache: Cache,
        windows: RateWindows,
        limits: Mapping[str, RateLimitItem],
        settings: PartnerSettings,
        metrics: PartnerMetrics,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = asyncio.sleep,
        random: Callable[[], float] = randomness.random,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
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

    def api(self, name: str, kind: str) -> PartnerApi:
        """Declare a partner API (once per name): its metrics start at 0, its breaker closed."""
        if name not in self._breakers:
            breaker = CircuitBreaker(
                self._settings.breaker_failures,
                self._settings.breaker_open_seconds,
                self._monotonic,
            )
            self._breakers[name] = breaker
            self.metrics.start([name])
            self.metrics.breaker.labels(name).set_function(lambda: float(breaker.state))
        return PartnerApi(name, kind)

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
        if item is None or await self._windows.hit(item, "partner", api.kind):
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
        settings = self._settings
        for attempt in range(settings.retries + 1):
            tried = _checked(await self._once(api, url, params), parse)
            self.metrics.calls.labels(api.name, tried.result).inc()
            if tried.result == "ok":
                return tried.body
            if tried.result == "malformed":
                log.warning("partner_answer_malformed", api=api.name, reason=tried.reason)
                raise PartnerError(api.name, "malformed")  # asking again gets the same answer
            log.info("partner_call_failed", api=api.name, result=tried.result, status=tried.status)
            if tried.result == "client_error" or attempt == settings.retries:
                break
            delay = retry_after_seconds(
                tried.retry_after, self._now(), settings.backoff_max_seconds
            )
            if delay is None:
                delay = full_jitter(
                    attempt, settings.backoff_seconds, settings.backoff_max_seconds, self._random
                )
            await self._sleep(delay)  # type: ignore[misc]
        raise PartnerError(api.name, "unavailable")

    async def _once(self, api: PartnerApi, url: str, params: Mapping[str, str]) -> _Try:
        # aiohttp is imported where a partner is called, so commands that call none start
        # without it (docs/benchmarks.md, "Command-line start-up").
        import aiohttp

        started = self._monotonic()
        try:
            async with self._client().get(
                url,
                params=dict(params),
                timeout=aiohttp.ClientTimeout(total=self._settings.timeout_seconds),
            ) as response:
                raw = await response.content.read(MAX_BODY_BYTES + 1)
                tried = _judged(response.status, raw, response.headers.get("Retry-After"))
        except TimeoutError:
            tried = _Try("timeout")
        except aiohttp.ClientError:
            tried = _Try("unreachable")
        self.metrics.seconds.labels(api.name).observe(self._monotonic() - started)
        return tried

    def _client(self) -> aiohttp.ClientSession:
        import aiohttp

        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session


def _judged(status: int, raw: bytes, retry_after: str | None) -> _Try:
    if status == 429:
        return _Try("throttled", status, retry_after=retry_after)
    if status in RETRIED_STATUSES or status >= 500:
        return _Try("server_error", status, retry_after=retry_after)
    if status >= 400:
        return _Try("client_error", status)
    if len(raw) > MAX_BODY_BYTES:
        return _Try("malformed", status, reason=f"over {MAX_BODY_BYTES} bytes")
    try:
        return _Try("ok", status, raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        return _Try("malformed", status, reason=str(error))


def _checked(tried: _Try, parse: Callable[[str], object]) -> _Try:
    """An answer that came back whole, judged by the caller's parser."""
    if tried.result != "ok":
        return tried
    try:
        parse(tried.body)
    except Exception as error:
        # Whatever a parser trips on, a partner's bad answer must not reach the guest.
        return _Try("malformed", tried.status, reason=f"{type(error).__name__}: {error}"[:300])
    return tried


def request_key(url: str, params: Mapping[str, str]) -> str:
    """The cache key of one read: the URL and its parameters in a fixed order, hashed."""
    query = urlencode(sorted(params.items()))
    return hashlib.sha256(f"{url}?{query}".encode()).hexdigest()[:32]
