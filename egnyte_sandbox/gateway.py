"""The per-request pipeline in front of the endpoints, playing the part of Egnyte's Mashery gateway.

Order: number and log the request, wait the configured latency, decide on a fault, then (for /pubapi/ paths)
check the token and the rate limits, and finally run the endpoint with the X-Accesstoken headers added.
Faults come before authentication because a gateway or backend failure does not care who is asking; a faulted
request therefore costs no rate-limit budget. Control paths (/_sandbox/) bypass all of it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp

from . import responses
from .faults import (
    BODY_FAULTS,
    LIST_FAULTS,
    STATUS_FAULTS,
    Message,
    Receive,
    Send,
    buffered,
    send_reset,
    send_truncated,
)
from .faults import stall as stall_request
from .state import API_PREFIX, CONTROL_PREFIX, SandboxState

Inner = Callable[[Receive, Send], Awaitable[None]]


def _headers(scope: dict[str, Any]) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def bearer(headers: dict[str, str]) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None for any other scheme or none at all."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


class Gateway:
    """Pure ASGI middleware (no per-request objects beyond what the pipeline needs)."""

    def __init__(self, app: ASGIApp, state: SandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        state = self.state
        headers = _headers(scope)
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        record = state.begin(scope["method"], path, query, headers)
        scope["sandbox.record"] = record
        stats = state.stats

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
                stats.statuses[str(message["status"])] += 1
            await send(message)

        delay = state.latency(record.number)
        if delay > 0:
            await state.config.sleep(delay)

        fault = state.faults.pick(record.number, path)
        try:
            await self._act(scope, receive, recording_send, headers, record, fault)
        finally:
            state.faults.settle(record.number, injected=record.fault is not None)

    async def _act(
        self,
        scope: dict[str, Any],
        receive: Receive,
        send: Send,
        headers: dict[str, str],
        record: Any,
        fault: str | None,
    ) -> None:
        """The request with its fault (if any) acted out: at once here, or by the endpoint for token and list ones."""
        state = self.state
        if fault in STATUS_FAULTS or fault == "malformed":
            state.count_fault(record, fault)
            response = responses.malformed() if fault == "malformed" else responses.server_fault(STATUS_FAULTS[fault])
            await response(scope, receive, send)
            return
        if fault == "slow":
            state.count_fault(record, fault)
            replay = await stall_request(state.config.faults.slow_s, receive, state.config.sleep)
            if replay is None:
                return  # the client gave up: nobody to answer
            receive = replay

        inner: Inner = self._inner(scope, headers, record, fault)
        if fault in BODY_FAULTS:
            state.count_fault(record, fault)
            start, body = await buffered(inner, receive)
            mangle = send_truncated if fault == "truncated" else send_reset
            await mangle(start, body, send)
            return
        await inner(receive, send)

    def _inner(self, scope: dict[str, Any], headers: dict[str, str], record: Any, fault: str | None) -> Inner:
        """Authentication, rate limiting and the endpoint itself, as one ASGI callable."""
        state = self.state
        cfg = state.config
        scope["sandbox.fault"] = fault if fault in LIST_FAULTS else None

        async def run(receive: Receive, send: Send) -> None:
            if not scope["path"].startswith(API_PREFIX):
                await self.app(scope, receive, send)
                return
            token_value = bearer(headers)
            token = state.tokens.authenticate(token_value)
            if token is not None and fault == "expire_token" and (token.issued or cfg.faults.expire_static):
                state.tokens.revoke(token.value)
                state.count_fault(record, fault)
                token = None
            if token is not None and state.tenant.user_entry(token.username) is None:
                token = None  # the owner was deleted: Egnyte invalidates the user's tokens
            if token is None:
                state.stats.unauthorized += 1
                await responses.developer_inactive(cfg.invalid_token_style)(scope, receive, send)
                return
            record.token = token.value
            state.stats.tokens[token.value] += 1
            decision = state.limiter.admit(token.value)
            if not decision.allowed:
                record.throttled = decision.kind
                if decision.kind == "qps":
                    state.stats.throttled_qps += 1
                else:
                    state.stats.throttled_quota += 1
                response = responses.throttled(
                    decision.kind or "qps", decision.retry_after, cfg.throttle_style, decision.headers
                )
                await response(scope, receive, send)
                return
            state.stats.admitted(cfg.clock())
            scope["sandbox.token"] = token
            extra = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in decision.headers.items()]

            async def with_headers(message: Message) -> None:
                if extra and message["type"] == "http.response.start":
                    message = {**message, "headers": [*message.get("headers", []), *extra]}
                await send(message)

            await self.app(scope, receive, with_headers)

        return run
