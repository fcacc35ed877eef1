"""Which redirects the connector follows: a GET's, within the origin (scheme, host, port) of base_url; no other.

A redirect to another origin would carry the request there: the token (httpx drops the Authorization header
across hosts, but not across a port or from https to http), the refresh credentials of a token request, or
another server's rows into the warehouse. So it is refused with an error naming where it pointed: base_url most
likely does not name the Egnyte domain. The token endpoint's redirects are refused whatever their target.
"""

from __future__ import annotations

import httpx

from egnyte_async.errors import RedirectRefusedError

DEFAULT_PORTS = {"http": 80, "https": 443}
Origin = tuple[str, str, int | None]


def origin_of(url: httpx.URL) -> Origin:
    """(scheme, host, port) with the scheme's default port filled in."""
    return url.scheme, url.host, url.port or DEFAULT_PORTS.get(url.scheme)


def location_of(response: httpx.Response, what: str) -> httpx.URL:
    """Where a redirect points, resolved against the request's URL."""
    location = response.headers.get("Location", "")
    try:
        return response.request.url.join(location)
    except (httpx.InvalidURL, ValueError) as exc:
        raise RedirectRefusedError(
            f"{what}: Egnyte answered {response.status_code} with a Location that is not a URL ({location[:200]!r}). "
            "Check domain and base_url"
        ) from exc


def redirect_target(response: httpx.Response, origin: Origin, what: str) -> httpx.URL:
    """The URL a redirect of a GET leads to, when it stays within `origin`; otherwise RedirectRefusedError."""
    target = location_of(response, what)
    if origin_of(target) != origin:
        raise RedirectRefusedError(
            f"{what}: Egnyte answered {response.status_code}, redirecting to another server, {target.host} "
            f"({origin_text(origin_of(target))}); the connector only follows redirects within "
            f"{origin_text(origin)}, so the token never goes elsewhere. "
            "Check domain and base_url: they must name your Egnyte domain (e.g. https://acme.egnyte.com)"
        )
    return target


def origin_text(origin: Origin) -> str:
    scheme, host, port = origin
    return f"{scheme}://{host}{'' if port == DEFAULT_PORTS.get(scheme) else f':{port}'}"
