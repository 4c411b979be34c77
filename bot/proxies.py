"""Outgoing proxies (HTTPS_PROXY and the like), for the calls to Telegram and to 3Commas alike.

They come from Settings, so a `.env` file can carry them as the environment can; urllib's rules
decide which proxy a URL takes and what NO_PROXY exempts.
"""

from __future__ import annotations

import base64
import urllib.parse
import urllib.request
from collections.abc import Mapping

# The proxy's URL, and the headers for the proxy (its login).
Proxy = tuple[str | None, dict[str, str] | None]
NO_PROXY: Proxy = (None, None)


def proxy_for(url: str, proxies: Mapping[str, str]) -> Proxy:
    """The proxy `proxies` name for `url` (urllib's form: {"https": ..., "all": ..., "no": ...}),
    or none when NO_PROXY exempts it; credentials in its URL become a Proxy-Authorization header."""
    parts = urllib.parse.urlsplit(url)
    # proxy_bypass_environment: urllib's NO_PROXY rules, for a given mapping (typeshed omits it).
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
    if parts.hostname and bypass(parts.hostname, proxies):
        return NO_PROXY
    named = proxies.get(parts.scheme) or proxies.get("all")
    if not named:
        return NO_PROXY
    proxy = urllib.parse.urlsplit(named)
    if proxy.username is None:
        return named, None
    login = f"{urllib.parse.unquote(proxy.username)}:{urllib.parse.unquote(proxy.password or '')}"
    basic = base64.b64encode(login.encode()).decode("ascii")
    without_login = proxy._replace(netloc=proxy.netloc.rpartition("@")[2]).geturl()
    return without_login, {"Proxy-Authorization": f"Basic {basic}"}


def through(
    proxy: Proxy, url: str, headers: dict[str, str]
) -> tuple[str | None, dict[str, str] | None, dict[str, str]]:
    """aiohttp's `proxy`, `proxy_headers` and request headers for a call to `url`: plain HTTP
    goes to the proxy as is, so its login travels with the request; over HTTPS it goes only with
    the CONNECT, never through the tunnel."""
    proxy_url, proxy_headers = proxy
    if proxy_headers and not url.startswith("https:"):
        return proxy_url, None, headers | proxy_headers
    return proxy_url, proxy_headers, headers
