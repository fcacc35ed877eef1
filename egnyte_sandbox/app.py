"""The Starlette application: routes, the gateway middleware and the shared state."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from . import control, endpoints, oauth
from .config import SandboxConfig
from .gateway import Gateway
from .state import SandboxState
from .tenant import Tenant


def create_app(config: SandboxConfig | None = None, tenant: Tenant | None = None) -> Starlette:
    """Build a sandbox app; pass `tenant` to share or pre-mutate the data (it must match `config`)."""
    config = config or SandboxConfig()
    state = SandboxState(config=config, tenant=tenant or Tenant(config))
    routes = [
        Route("/pubapi/v2/users", endpoints.list_users, methods=["GET"]),
        Route("/pubapi/v2/groups", endpoints.list_groups, methods=["GET"]),
        Route("/pubapi/v2/groups/{group_id}", endpoints.group_detail, methods=["GET"]),
        Route("/pubapi/v1/notes", endpoints.list_notes, methods=["GET"]),
        Route("/pubapi/v1/notes/{note_id}", endpoints.note_detail, methods=["GET"]),
        Route("/pubapi/v1/events/cursor", endpoints.events_cursor, methods=["GET"]),
        Route("/pubapi/v1/events", endpoints.list_events, methods=["GET"]),
        Route("/pubapi/v1/bookmarks", endpoints.list_bookmarks, methods=["GET"]),
        Route("/pubapi/v1/userinfo", endpoints.userinfo, methods=["GET"]),
        Route("/puboauth/token", oauth.token, methods=["POST"]),
        *control.ROUTES,
    ]
    app = Starlette(routes=routes, middleware=[Middleware(Gateway, state=state)])
    app.state.sandbox = state
    return app
