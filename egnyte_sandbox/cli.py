"""`python -m egnyte_sandbox`: a sandbox on loopback for the demo and the benchmark."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from .app import create_app
from .config import CHOICES, FAULT_KINDS, FaultPlan, SandboxConfig
from .server import SignalledServer, base_url, bind, uvicorn_config


def _schedule(text: str) -> dict[int, str]:
    """`3:500,7:reset` -> {3: "500", 7: "reset"}."""
    out: dict[int, str] = {}
    for item in filter(None, text.split(",")):
        number, _, kind = item.partition(":")
        out[int(number)] = kind
    return out


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m egnyte_sandbox", description="A local fake of the Egnyte public API.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    p.add_argument("--ready-file", type=Path, help="write {base_url, access_token} as JSON here once serving")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--users", type=int, default=50)
    p.add_argument("--groups", type=int, default=5)
    p.add_argument("--members-per-group", type=int, default=10)
    p.add_argument("--notes", type=int, default=200)
    p.add_argument("--bookmarks-per-user", type=int, default=2)
    p.add_argument("--static-token", default="sandbox-token")
    p.add_argument("--admin-username", default="admin")
    p.add_argument("--standard-token", default=None, help="a second token, of a standard (non-admin) user")
    p.add_argument("--token-lifetime-s", type=float, default=3600.0)
    p.add_argument("--token-requests-per-hour", type=int, default=100, help="0 = unlimited")
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--jitter-ms", type=float, default=0.0)
    p.add_argument("--qps-limit", type=float, default=2.0, help="per token; 0 = unlimited")
    p.add_argument("--daily-quota", type=int, default=1000, help="per token; 0 = unlimited")
    p.add_argument(
        "--limiter-kind",
        choices=CHOICES["limiter_kind"],
        default="token_bucket",
        help="how the per-second limit counts calls (a burst-tolerant bucket, or a strict sliding or fixed window)",
    )
    p.add_argument("--throttle-style", choices=CHOICES["throttle_style"], default="mashery")
    p.add_argument("--invalid-token-style", choices=CHOICES["invalid_token_style"], default="html")
    p.add_argument("--no-accesstoken-headers", action="store_true")
    p.add_argument("--fault-rate", type=float, default=0.0)
    p.add_argument("--fault-kinds", default=",".join(FaultPlan().kinds), help=f"some of {','.join(FAULT_KINDS)}")
    p.add_argument("--fault-schedule", default="", help="request number:kind pairs, e.g. 3:500,7:reset")
    p.add_argument("--fault-paths", default="", help="comma-separated path prefixes that may fault")
    p.add_argument("--slow-s", type=float, default=60.0)
    p.add_argument("--churn", type=int, default=0, help="mutations applied before each list request")
    p.add_argument(
        "--users-deleted-after-listing",
        type=int,
        default=0,
        help="users of the first users page deleted once it is served",
    )
    p.add_argument("--usernames", choices=CHOICES["usernames"], default="ascii")
    p.add_argument("--items-per-page", choices=CHOICES["items_per_page"], default="returned")
    p.add_argument("--over-max-count", choices=CHOICES["over_max_count"], default="clamp")
    p.add_argument("--user-id-type", choices=CHOICES["user_id_type"], default="number")
    p.add_argument("--date-format", choices=CHOICES["date_format"], default="egnyte")
    p.add_argument("--notes-time-filter", choices=CHOICES["notes_time_filter"], default="iso")
    p.add_argument("--notes-bounds", choices=CHOICES["notes_bounds"], default="inclusive")
    p.add_argument("--notes-order", choices=CHOICES["notes_order"], default="asc")
    p.add_argument("--no-notes-total", action="store_true")
    p.add_argument("--no-notes-count-key", action="store_true")
    p.add_argument("--notes-file-id", action="store_true")
    p.add_argument("--note-message-chars", type=int, default=0, help="every note's message this long; 0 = short")
    p.add_argument("--bookmarks-total", action="store_true")
    p.add_argument("--bookmarks-offset-base", type=int, choices=(0, 1), default=0)
    p.add_argument("--no-scim-schemas", action="store_true")
    p.add_argument("--no-optional-user-dates", action="store_true")
    p.add_argument("--no-userinfo-user-type", action="store_true")
    p.add_argument("--users-carry-groups", action="store_true")
    p.add_argument("--v1-error-style", choices=CHOICES["v1_error_style"], default="errors")
    p.add_argument("--no-events", action="store_true", help="the events API answers 403 (a plan without it)")
    p.add_argument("--events-retention", type=int, default=10_000, help="latest events kept")
    p.add_argument("--no-events-count-key", action="store_true")
    p.add_argument("--note-event-id-field", choices=CHOICES["note_event_id_field"], default="note_id")
    p.add_argument("--file-system-events-per-note", type=int, default=0)
    p.add_argument("--no-record-requests", action="store_true", help="keep no request log (long benchmarks)")
    p.add_argument("--log-level", default="warning")
    return p


def config_from(args: argparse.Namespace) -> SandboxConfig:
    faults = FaultPlan(
        rate=args.fault_rate,
        kinds=tuple(k for k in args.fault_kinds.split(",") if k),
        schedule=_schedule(args.fault_schedule),
        slow_s=args.slow_s,
        paths=tuple(p for p in args.fault_paths.split(",") if p),
    )
    return SandboxConfig(
        seed=args.seed,
        users=args.users,
        groups=args.groups,
        members_per_group=args.members_per_group,
        notes=args.notes,
        bookmarks_per_user=args.bookmarks_per_user,
        static_token=args.static_token,
        admin_username=args.admin_username,
        standard_token=args.standard_token,
        token_lifetime_s=args.token_lifetime_s,
        token_requests_per_hour=args.token_requests_per_hour or None,
        latency_s=args.latency_ms / 1000.0,
        jitter_s=args.jitter_ms / 1000.0,
        qps_limit=args.qps_limit or None,
        limiter_kind=args.limiter_kind,
        daily_quota=args.daily_quota or None,
        throttle_style=args.throttle_style,
        invalid_token_style=args.invalid_token_style,
        accesstoken_headers=not args.no_accesstoken_headers,
        items_per_page=args.items_per_page,
        over_max_count=args.over_max_count,
        user_id_type=args.user_id_type,
        date_format=args.date_format,
        notes_time_filter=args.notes_time_filter,
        notes_bounds=args.notes_bounds,
        notes_order=args.notes_order,
        notes_total=not args.no_notes_total,
        notes_count_key=not args.no_notes_count_key,
        notes_file_id=args.notes_file_id,
        note_message_chars=args.note_message_chars,
        bookmarks_total=args.bookmarks_total,
        bookmarks_offset_base=args.bookmarks_offset_base,
        scim_schemas=not args.no_scim_schemas,
        optional_user_dates=not args.no_optional_user_dates,
        userinfo_user_type=not args.no_userinfo_user_type,
        users_carry_groups=args.users_carry_groups,
        v1_error_style=args.v1_error_style,
        churn_per_list_request=args.churn,
        users_deleted_after_listing=args.users_deleted_after_listing,
        usernames=args.usernames,
        events_available=not args.no_events,
        events_retention=args.events_retention,
        events_count_key=not args.no_events_count_key,
        note_event_id_field=args.note_event_id_field,
        file_system_events_per_note=args.file_system_events_per_note,
        record_requests=not args.no_record_requests,
        faults=faults,
    )


def _write_ready_file(path: Path, url: str, token: str) -> None:
    """Write atomically, so a process polling for the file never reads half of it."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"base_url": url, "access_token": token}))
    os.replace(tmp, path)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        config = config_from(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    app = create_app(config)
    sock = bind(args.host, args.port)
    url = base_url(sock)

    def announce() -> None:
        if args.ready_file:
            _write_ready_file(args.ready_file, url, config.static_token)
        print(f"Egnyte sandbox at {url}  token: {config.static_token}", flush=True)

    server = SignalledServer(uvicorn_config(app, args.log_level), on_ready=announce)
    # uvicorn handles SIGINT/SIGTERM itself and re-raises them after a graceful stop; with these no-op handlers
    # that re-raise is harmless, so the counters below are printed either way.
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.run(sockets=[sock])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()
        print("Egnyte sandbox stopped.\n" + app.state.sandbox.stats.summary(), flush=True)
    return 0 if server.started else 1
