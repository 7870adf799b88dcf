"""Payloads and small helpers shared by every client family."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable
from typing import Any

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


async def pace_async(rate: int, total: int, send: Callable[[int], object]) -> None:
    """Call `send(i)` for i in 0..total-1 at `rate` per second, on the event loop.

    The loop sleeps until the next record is due and then sends every record that
    is due, so a coarse timer makes short bursts, never a lower rate.
    """
    interval = 1e9 / rate
    start = time.perf_counter_ns()
    index = 0
    while index < total:
        now = time.perf_counter_ns()
        due = start + int(index * interval)
        if due > now:
            await asyncio.sleep((due - now) / 1e9)
            continue
        while index < total and start + int(index * interval) <= now:
            send(index)
            index += 1


def pace_sync(rate: int, total: int, send: Callable[[int], object]) -> None:
    """`pace_async` for a thread: sleeps with `time.sleep`."""
    interval = 1e9 / rate
    start = time.perf_counter_ns()
    index = 0
    while index < total:
        now = time.perf_counter_ns()
        due = start + int(index * interval)
        if due > now:
            time.sleep((due - now) / 1e9)
            continue
        while index < total and start + int(index * interval) <= now:
            send(index)
            index += 1


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
