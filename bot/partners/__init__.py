"""One outbound client for partner APIs (weather, events, payment gateways, the LLM): rate
limits per API type from the rate-limits file, the shared cache with stampede protection,
retries with backoff and jitter, a circuit breaker per API that answers from the cache while the
partner is down, and metrics per API. It knows HTTP partners by name and type, never hotels nor
what a partner's answer means: the caller parses."""
