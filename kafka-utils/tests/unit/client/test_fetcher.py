"""FetchThread's hand-over of fetching between its thread and the loop.

The native consumer here is a stand-in for librdkafka's local queue: `consume()`
and `poll()` take messages (plain integers, in fetch order) from a list that the
test fills, and `poll()` waits a little when the list is empty, as librdkafka does.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from kafka_utils.client._fetcher import FetchThread


class ScriptedConsumer:
    def __init__(self) -> None:
        self.queued: list[int] = []
        self.guard = threading.Lock()
        self.callers: set[str] = set()
        self.closed = False

    def add(self, *messages: int) -> None:
        with self.guard:
            self.queued += messages

    def consume(self, count: int, timeout: float) -> list[int]:
        self.callers.add(threading.current_thread().name)
        with self.guard:
            taken, self.queued = self.queued[:count], self.queued[count:]
        return taken

    def poll(self, timeout: float) -> int | None:
        self.callers.add(threading.current_thread().name)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            taken = self.consume(1, 0)
            if taken:
                return taken[0]
            time.sleep(0.001)
        return None

    def close(self) -> None:
        self.closed = True


class Reader:
    """The consumer's side: drains the hand-off queue in order."""

    def __init__(self) -> None:
        self.fetcher: FetchThread | None = None
        self.received: list[int] = []
        self.arrived = asyncio.Event()

    def drain(self) -> None:
        assert self.fetcher is not None
        while self.fetcher.handoff:
            _, messages = self.fetcher.handoff.popleft()
            self.received += messages
            self.fetcher.release()
        self.arrived.set()


def start_fetcher(
    native: ScriptedConsumer, reader: Reader, *, loop_may_fetch: bool
) -> FetchThread:
    errors: list[BaseException] = []
    fetcher = FetchThread(
        native,
        asyncio.get_running_loop(),
        reader.drain,
        errors.append,
        batch_size=3,
        max_batches=2,
        before_consume=lambda: None,
        loop_may_fetch=loop_may_fetch,
        poll_timeout=0.02,
        name="test-fetch",
    )
    reader.fetcher = fetcher
    fetcher.start()
    return fetcher


async def wait_for_records(reader: Reader, count: int) -> None:
    async with asyncio.timeout(5):
        while len(reader.received) < count:
            reader.arrived.clear()
            await reader.arrived.wait()


async def test_the_thread_waits_then_the_loop_fetches_while_records_flow() -> None:
    native = ScriptedConsumer()
    reader = Reader()
    fetcher = start_fetcher(native, reader, loop_may_fetch=True)

    # Nothing queued: the thread is the one waiting. Its first batch comes over,
    # and from then on the loop fetches for itself.
    native.add(1, 2, 3)
    await wait_for_records(reader, 3)
    assert native.callers == {"test-fetch"}
    native.add(4, 5, 6, 7)
    async with asyncio.timeout(5):
        while len(reader.received) < 7:
            if fetcher.fetch_here():
                reader.drain()
            await asyncio.sleep(0)
    assert reader.received == [1, 2, 3, 4, 5, 6, 7]
    assert "MainThread" in native.callers

    # An empty fetch on the loop hands waiting back to the thread.
    assert fetcher.fetch_here() == 0
    native.add(8)
    await wait_for_records(reader, 8)
    assert reader.received == [1, 2, 3, 4, 5, 6, 7, 8]

    fetcher.stop()
    await fetcher.finished
    assert native.closed


async def test_batches_keep_their_order_whoever_fetched_them() -> None:
    native = ScriptedConsumer()
    reader = Reader()
    fetcher = start_fetcher(native, reader, loop_may_fetch=True)
    expected = list(range(300))

    # Records arrive in small bursts, with pauses, so fetching moves back and
    # forth between the thread and the loop many times.
    async def feed() -> None:
        for start in range(0, 300, 7):
            native.add(*expected[start : start + 7])
            await asyncio.sleep(0.002)

    feeder = asyncio.create_task(feed())
    async with asyncio.timeout(10):
        while len(reader.received) < 300:
            if fetcher.fetch_here():
                reader.drain()
            else:
                reader.arrived.clear()
                try:
                    async with asyncio.timeout(0.05):
                        await reader.arrived.wait()
                except TimeoutError:
                    pass
    await feeder

    assert reader.received == expected
    assert {"MainThread", "test-fetch"} <= native.callers
    fetcher.stop()
    await fetcher.finished


async def test_without_loop_fetching_only_the_thread_calls_the_consumer() -> None:
    native = ScriptedConsumer()
    reader = Reader()
    fetcher = start_fetcher(native, reader, loop_may_fetch=False)

    native.add(*range(10))
    await wait_for_records(reader, 10)

    assert reader.received == list(range(10))
    assert native.callers == {"test-fetch"}
    fetcher.stop()
    await fetcher.finished


async def test_the_loop_does_not_fetch_while_the_thread_is_inside_the_consumer() -> (
    None
):
    native = ScriptedConsumer()
    reader = Reader()
    fetcher = start_fetcher(native, reader, loop_may_fetch=True)
    native.add(1)
    await wait_for_records(reader, 1)

    # A command holds the consumer: the loop must neither wait nor fetch.
    entered = threading.Event()
    release = threading.Event()

    def slow_command() -> Any:
        entered.set()
        release.wait(5)
        return "done"

    answer = fetcher.submit(slow_command)
    assert await asyncio.to_thread(entered.wait, 5)
    native.add(2)
    started = time.monotonic()
    assert fetcher.fetch_here() == 0
    assert time.monotonic() - started < 0.5
    release.set()
    assert await answer == "done"

    # The thread took waiting back and delivers the record the loop left.
    await wait_for_records(reader, 2)
    assert reader.received == [1, 2]
    fetcher.stop()
    await fetcher.finished
