"""How EgnyteClient paces and reacts to throttles, measured on an event loop of virtual time: the limiter (aiolimiter)
and the client's clock (the gate, retries) both read it, and the server answers after a latency of its own."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from egnyte_async.client import EgnyteClient
from egnyte_async.pacing import CATCH_UP_S, FIRST_CUT, STRETCH
from egnyte_async.settings import Settings
from tests.clients import BASE, budget, identity, qps_throttle
from tests.virtual_loop import run_virtual


class LoopClock:
    """The client's Clock on the running loop's time, so gate and retries share the limiter's virtual time."""

    def monotonic(self) -> float:
        return asyncio.get_running_loop().time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def client(handler: Callable[[httpx.Request], Awaitable[httpx.Response]], rate: float) -> EgnyteClient:
    settings = Settings(domain="acme", base_url=BASE, api_token="t", requests_per_second=rate)
    return EgnyteClient(settings, budget(), transport=httpx.MockTransport(handler), clock=LoopClock())


def server(throttled: set[int], latency_s: float, arrivals: list[float]) -> Callable[[httpx.Request], Any]:
    """Answers the calls numbered in `throttled` (from 1) with a one-second Mashery throttle, the others with a page;
    notes when each call arrived."""

    async def handle(request: httpx.Request) -> httpx.Response:
        arrivals.append(asyncio.get_running_loop().time())
        number = len(arrivals)
        await asyncio.sleep(latency_s)
        return qps_throttle("1") if number in throttled else httpx.Response(200, json={"n": number})

    return handle


async def get(egnyte: EgnyteClient, index: int) -> Any:
    return await egnyte.get("/pubapi/v2/users", {"startIndex": index}, parse=identity, what=f"page {index}")


def test_a_one_second_throttle_holds_the_throttled_call_a_second_and_the_others_one_period() -> None:
    arrivals: list[float] = []

    async def main() -> EgnyteClient:
        async with client(server({1}, 0.0, arrivals), rate=2.0) as egnyte:
            await asyncio.gather(*(get(egnyte, index) for index in range(3)))
            return egnyte

    egnyte = run_virtual(main)
    cut_period = (1 + STRETCH) / (2.0 * (1 - FIRST_CUT))
    assert egnyte.stats.throttled == 1 and egnyte.limiter.rate == 2.0 * (1 - FIRST_CUT)
    # The next call waited one period of the cut pace (0.59 s), not the whole second the old gate held everyone for;
    # the throttled call was retried only after its Retry-After of a second.
    assert abs(arrivals[1] - cut_period) < 0.01
    assert len(arrivals) == 4 and arrivals[-1] >= 1.0
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    assert min(gaps) >= cut_period - CATCH_UP_S - 1e-6


def test_a_long_retry_after_holds_even_a_call_already_past_the_gate() -> None:
    """A call whose turn at the limiter came while a 5-second pause was on does not leave until the pause ends."""
    arrivals: list[float] = []

    async def handle(request: httpx.Request) -> httpx.Response:
        arrivals.append(asyncio.get_running_loop().time())
        if len(arrivals) == 1:
            await asyncio.sleep(0.3)  # answered after the second call is queued at the limiter (0.52 s apart)
            return qps_throttle("5")
        return httpx.Response(200, json={})

    async def main() -> None:
        async with client(handle, rate=2.0) as egnyte:
            await asyncio.gather(get(egnyte, 1), get(egnyte, 2))

    run_virtual(main)
    assert len(arrivals) == 3
    assert all(moment >= 0.3 + 5 for moment in arrivals[1:])


def test_calls_in_flight_when_the_first_throttle_comes_back_cut_the_pace_once() -> None:
    """Four calls left at 20 a second before any answer came back (latency 0.3 s); all four are throttled. They
    all say the same of the same pace: one cut by an eighth, not four in a row."""
    arrivals: list[float] = []

    async def main() -> EgnyteClient:
        async with client(server({1, 2, 3, 4}, 0.3, arrivals), rate=20.0) as egnyte:
            await asyncio.gather(*(get(egnyte, index) for index in range(4)))
            return egnyte

    egnyte = run_virtual(main)
    assert egnyte.stats.throttled == 4
    assert egnyte.limiter.rate == 20.0 * (1 - FIRST_CUT)
    assert arrivals[3] < 0.3  # the four were indeed in flight together
