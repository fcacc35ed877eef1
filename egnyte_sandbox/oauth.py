"""`POST /puboauth/token`: the password and refresh_token grants, with the endpoint's own hourly throttle."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from . import responses
from .state import SandboxState


def _error(status: int, error: str, description: str) -> Response:
    return responses.json_response({"error": error, "error_description": description}, status)


async def token(request: Request) -> Response:
    """Issue an access token. Every call, successful or not, counts against the hourly limit (answered 409)."""
    state: SandboxState = request.app.state.sandbox
    cfg = state.config
    retry_after = state.tokens.admit_token_request()
    if retry_after is not None:
        state.stats.token_throttled += 1
        return responses.json_response(
            {"error": "rate_limited", "error_description": "Too many token requests."},
            409,
            {"Retry-After": str(retry_after)},
        )
    form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
    grant = form.get("grant_type")
    if form.get("client_id") != cfg.client_id:
        return _error(401, "invalid_client", "Unknown client_id.")
    if grant == "password":
        secret = form.get("client_secret")
        if secret is not None and secret != cfg.client_secret:
            return _error(401, "invalid_client", "Bad client credentials.")
        username = form.get("username", "")
        if not username or form.get("password") != cfg.user_password or state.tenant.user_entry(username) is None:
            return _error(400, "invalid_grant", "Invalid username or password.")
    elif grant == "refresh_token":
        if form.get("client_secret") != cfg.client_secret:
            return _error(401, "invalid_client", "Bad client credentials.")
        refresh = form.get("refresh_token", "")
        owner = state.tokens.user_of_refresh_token(refresh)
        if owner is None or state.tenant.user_entry(owner) is None:
            return _error(400, "invalid_grant", "Invalid refresh token.")
        username = owner
    elif grant is None:
        return _error(400, "invalid_request", "grant_type is required.")
    else:
        return _error(400, "unsupported_grant_type", f"Unsupported grant_type {grant}.")
    issued = state.tokens.issue(username)
    return responses.json_response(
        {
            "access_token": issued.value,
            "token_type": "bearer",
            "expires_in": int(cfg.token_lifetime_s),
            "refresh_token": state.tokens.refresh_token_for(username),
        }
    )
