"""Payloads and small helpers shared by every client family."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

# Fire-and-forget loops look at the clock once every this many records.
CLOCK_EVERY = 4096
# End-to-end records before this many seconds of sending are warm-up.
E2E_WARMUP_S = 2.0
# A consumer that sees nothing for this long has stalled: the run fails.
STALL_S = 30.0
# After an end-to-end producer finished, its consumer gets this long to catch up;
# one that cannot keep up is reported with the records it got (marked capped).
CATCH_UP_S = 10.0


def payload(size: int) -> bytes:
    """A fixed record value of random capital letters, like the Java perf tool's.

    Every record of a run carries the same bytes object, in every client.
    """
    rng = random.Random(size)
    return bytes(rng.randrange(65, 91) for _ in range(size))


def stamped(index: int, size: int) -> bytes:
    """An end-to-end record value: send time (perf_counter_ns), index, padding."""
    head = time.perf_counter_ns().to_bytes(8, "big") + index.to_bytes(8, "big")
    return head + bytes(max(0, size - 16))


def read_stamp(value: bytes) -> tuple[int, int]:
    """The (send time, index) of a `stamped` value."""
    return int.from_bytes(value[:8], "big"), int.from_bytes(value[8:16], "big")


def transform(value: bytes) -> bytes:
    """The relay's processing step: a new value derived from the input record."""
    return value[::-1]


def fresh_group(prefix: str) -> str:
    """A consumer group nobody used before: no committed offsets."""
    return f"bench-{prefix}-{uuid.uuid4().hex[:10]}"


class StallError(RuntimeError):
    """A consumer received nothing for `STALL_S` seconds."""


class ConsumeTally:
    """The meter's side of a batch-consume loop, the same for every client.

    The meter starts once the warm-up records are read; the half-way mark and the
    time budget are looked at about once every CLOCK_EVERY records; a loop that
    gets nothing for STALL_S fails.
    """

    def __init__(self, case: Any, meter: Any) -> None:
        self.total = case.records + case.warmup
        self.seen = 0
        self._warmup = case.warmup
        self._half = case.records // 2
        self._meter = meter
        self._started_at = 0
        self._last = time.perf_counter()

    @property
    def measured(self) -> int:
        """Records read after the warm-up."""
        return self.seen - self._started_at

    def add(self, count: int) -> bool:
        """Count one fetch of `count` records; True when the time budget ran out."""
        now = time.perf_counter()
        if not count:
            if now - self._last > STALL_S:
                raise StallError(f"nothing after {self.seen} records")
            return False

        self._last = now
        self.seen += count
        meter = self._meter
        if not self._started_at and self.seen >= self._warmup:
            meter.start()
            self._started_at = self.seen
        elif self._started_at and self.seen % CLOCK_EVERY < count:
            if self.measured >= self._half:
                meter.mark_half()
            if now > meter.deadline:
                return True
        return False


def run_on(loop: str, main: Coroutine[Any, Any, T]) -> T:
    """Run `main` to completion on a fresh "asyncio" or "uvloop" event loop."""
    if loop == "uvloop":
        import uvloop

        return uvloop.run(main)
    return asyncio.run(main)


def _schedule(rate: int, total: int) -> Iterator[tuple[float, range]]:
    """Pace records 0..total-1 at `rate` per second.

    Yields (seconds to sleep, indices due now): a coarse timer makes short bursts of
    every record that is due, never a lower rate.
    """
    interval = 1e9 / rate
    start = time.perf_counter_ns()
    index = 0
    while index < total:
        now = time.perf_counter_ns()
        due = start + int(index * interval)
        if due > now:
            yield (due - now) / 1e9, range(0)
            continue
        first = index
        while index < total and start + int(index * interval) <= now:
            index += 1
        yield 0.0, range(first, index)


async def pace_async(rate: int, total: int, send: Callable[[int], object]) -> None:
    """Call `send(i)` for i in 0..total-1 at `rate` per second, on the event loop."""
    for wait_s, due in _schedule(rate, total):
        if wait_s:
            await asyncio.sleep(wait_s)
        for index in due:
            send(index)


def pace_sync(rate: int, total: int, send: Callable[[int], object]) -> None:
    """`pace_async` for a thread: sleeps with `time.sleep`."""
    for wait_s, due in _schedule(rate, total):
        if wait_s:
            time.sleep(wait_s)
        for index in due:
            send(index)


async def catch_up(reader: asyncio.Task[None]) -> bool:
    """Wait up to CATCH_UP_S for an end-to-end reader; False if it fell behind."""
    try:
        await asyncio.wait_for(reader, CATCH_UP_S)
    except TimeoutError:
        return False
    return True


class E2EPlan:
    """Counts of an end-to-end run and the meter marks tied to them."""

    def __init__(self, rate: int, duration_s: float) -> None:
        self.warm = int(rate * E2E_WARMUP_S)
        self.total = self.warm + int(rate * duration_s)
        self.half = self.warm + (self.total - self.warm) // 2

    @property
    def measured(self) -> int:
        """Records after the warm-up."""
        return self.total - self.warm

    def mark(self, meter: Any, index: int) -> None:
        """Start the meter after the warm-up and mark the half-way point."""
        if index == self.warm:
            meter.start()
        elif index == self.half:
            meter.mark_half()

    def record(self, latencies: list[int], now_ns: int, value: bytes) -> bool:
        """Note one received record's latency; True when it was the last one."""
        stamp, index = read_stamp(value)
        if index >= self.warm:
            latencies.append(now_ns - stamp)
        return index == self.total - 1
