"""The unit tests' shared client: `make_client(refresh=..., retry_attempts=..., limit=...)` on the fake clock."""

from __future__ import annotations

import functools
from collections.abc import Callable

import pytest

from egnyte_async.client import EgnyteClient
from tests.clients import new_client


@pytest.fixture
def make_client(fake_clock) -> Callable[..., EgnyteClient]:
    return functools.partial(new_client, fake_clock)
