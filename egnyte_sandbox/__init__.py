"""A local fake of the Egnyte public API (users, groups, notes, bookmarks, OAuth), rough edges included.

It serves a deterministic tenant of any size generated on demand, enforces Egnyte's rate limits, injects faults
and mutations on request, and offers a switch for every behaviour the public documentation leaves uncertain.
"""

from .app import create_app
from .config import FAULT_KINDS, FaultPlan, SandboxConfig
from .server import RunningSandbox, run_server
from .state import SandboxState
from .stats import RequestRecord, Stats
from .tenant import Tenant

__all__ = [
    "FAULT_KINDS",
    "FaultPlan",
    "RequestRecord",
    "RunningSandbox",
    "SandboxConfig",
    "SandboxState",
    "Stats",
    "Tenant",
    "create_app",
    "run_server",
]
