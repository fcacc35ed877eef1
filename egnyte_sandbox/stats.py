"""Counters and the request log: what tests assert on, and what the command line prints on exit."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

RECORDED_HEADERS = ("authorization", "x-egnyte-act-as", "x-egnyte-act-as-email", "content-type", "user-agent")


@dataclass
class RequestRecord:
    """One request as received (tokens are kept in full: tests check which token a client used)."""

    number: int
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    at: float
    token: str | None = None
    status: int | None = None
    fault: str | None = None
    throttled: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Stats:
    """Counters since start-up or the last reset. `paths` groups group-detail calls under one template."""

    requests: int = 0
    api_requests: int = 0
    token_requests: int = 0
    token_throttled: int = 0
    unauthorized: int = 0
    throttled_qps: int = 0
    throttled_quota: int = 0
    churn_mutations: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    paths: Counter[str] = field(default_factory=Counter)
    tokens: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    #: The sandbox clock when the first and the latest call past the rate limit were admitted: the span over which a
    #: client's pace is measured, without its own start-up and wrap-up.
    first_admitted_s: float | None = None
    last_admitted_s: float | None = None

    def admitted(self, now: float) -> None:
        if self.first_admitted_s is None:
            self.first_admitted_s = now
        self.last_admitted_s = now

    @property
    def throttled(self) -> int:
        return self.throttled_qps + self.throttled_quota

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["throttled"] = self.throttled
        out["faults_total"] = sum(self.faults.values())
        for key in ("faults", "paths", "tokens", "statuses"):
            out[key] = dict(sorted(getattr(self, key).items()))
        return out

    def reset(self) -> None:
        fresh = Stats()
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(fresh, name))

    def summary(self) -> str:
        """A few lines for humans, printed when the server stops."""
        lines = [
            f"requests: {self.requests} (api {self.api_requests}, token {self.token_requests})",
            f"throttled: {self.throttled} (qps {self.throttled_qps}, quota {self.throttled_quota}); "
            f"token endpoint throttled: {self.token_throttled}; unauthorized: {self.unauthorized}",
            f"faults: {sum(self.faults.values())} {dict(sorted(self.faults.items()))}",
            f"churn mutations: {self.churn_mutations}",
            f"statuses: {dict(sorted(self.statuses.items()))}",
        ]
        lines.extend(f"  {path}: {count}" for path, count in sorted(self.paths.items()))
        return "\n".join(lines)


def path_template(path: str) -> str:
    """Collapse per-id paths so that the path counters stay small."""
    if path.startswith("/pubapi/v2/groups/") and len(path) > len("/pubapi/v2/groups/"):
        return "/pubapi/v2/groups/{id}"
    if path.startswith("/pubapi/v1/notes/") and len(path) > len("/pubapi/v1/notes/"):
        return "/pubapi/v1/notes/{id}"
    return path
