"""Whether a browser's form post comes from one of our own pages (the checkout and the console
refuse cross-site posts)."""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web


def same_site(request: web.Request) -> bool:
    """No cross-site form posts: what the browser says of the request's origin must be us.
    Host only, not the scheme: behind a TLS-terminating proxy the request itself is http."""
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("Origin")
    if origin is not None:
        return origin != "null" and urlsplit(origin).netloc == request.host
    referer = request.headers.get("Referer")
    if referer is not None:
        return urlsplit(referer).netloc == request.host
    return True  # not a browser: the form's signed or session token still had to come along
