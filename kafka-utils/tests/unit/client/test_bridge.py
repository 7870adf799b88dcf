"""DeliveryPoller's hand-over between the loop and its thread, on a scripted native.

The native producer here is a stand-in for librdkafka's poll queue: `poll()` runs
the delivery callbacks that were queued, as librdkafka does, and returns how many.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from kafka_utils.client._bridge import DeliveryPoller, DeliveryReport


class ScriptedNative:
    def __init__(self) -> None:
        self.ready: list[Callable[[], None]] = []

    def poll(self, timeout: float) -> int:
        served, self.ready = self.ready, []
        for callback in served:
            callback()
        return len(served)


def make_poller(
    native: ScriptedNative,
    loop: asyncio.AbstractEventLoop,
    poll_interval: float = 0.01,
) -> tuple[DeliveryPoller, list[list[DeliveryReport]]]:
    reports: list[DeliveryReport] = []
    delivered: list[list[DeliveryReport]] = []
    poller = DeliveryPoller(
        native,
        loop,
        delivered.append,
        reports=reports,
        on_room=lambda: None,
        name="test-poll",
        poll_interval=poll_interval,
    )
    return poller, delivered


def queue_report(native: ScriptedNative, poller: DeliveryPoller, target: Any) -> None:
    native.ready.append(lambda: poller.reports.append((target, None, None)))


async def test_the_loop_serves_while_reports_keep_coming_then_hands_back() -> None:
    native = ScriptedNative()
    poller, delivered = make_poller(native, asyncio.get_running_loop())

    queue_report(native, poller, "first")
    poller.serve_here()
    assert delivered == [[("first", None, None)]]
    assert poller.loop_serving

    # The next loop iteration still finds a report: the loop keeps serving.
    queue_report(native, poller, "second")
    await asyncio.sleep(0)
    assert delivered[-1] == [("second", None, None)]
    assert poller.loop_serving

    # An iteration that finds nothing hands back to the thread.
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert not poller.loop_serving


async def test_an_empty_serve_hands_back_at_the_next_iteration() -> None:
    native = ScriptedNative()
    poller, delivered = make_poller(native, asyncio.get_running_loop())

    poller.serve_here()
    assert poller.loop_serving

    await asyncio.sleep(0)
    assert not poller.loop_serving
    assert delivered == []


async def test_the_thread_delivers_after_the_loop_hands_back() -> None:
    native = ScriptedNative()
    poller, delivered = make_poller(native, asyncio.get_running_loop())
    poller.start()
    try:
        queue_report(native, poller, "served by the loop")
        poller.serve_here()
        for _ in range(3):
            await asyncio.sleep(0)
        assert not poller.loop_serving

        queue_report(native, poller, "served by the thread")
        for _ in range(100):
            if len(delivered) == 2:
                break
            await asyncio.sleep(0.01)
    finally:
        await asyncio.to_thread(poller.stop, 5.0)

    assert delivered[1] == [("served by the thread", None, None)]


class BlockingNative(ScriptedNative):
    """A native whose poll() waits out its whole timeout when nothing is queued."""

    def __init__(self) -> None:
        super().__init__()
        self.wake = threading.Event()

    def poll(self, timeout: float) -> int:
        if not self.ready:
            self.wake.wait(timeout)
        return super().poll(0)


async def test_a_barrier_does_not_wait_for_the_thread_to_leave_poll() -> None:
    native = BlockingNative()
    poller, delivered = make_poller(native, asyncio.get_running_loop(), 60.0)
    reports = poller.reports
    poller.start()
    try:
        # One batch handed over by another thread, then a report collected (by a
        # transaction commit's flush, say) that nobody has handed over yet.
        reports.append(("handed over", None, None))
        await asyncio.to_thread(poller.hand_over)
        reports.append(("collected", None, None))

        # The thread sits in a poll() of 60 s; the barrier must not wait for it.
        await asyncio.wait_for(poller.barrier(), timeout=5.0)
    finally:
        native.wake.set()
        await asyncio.to_thread(poller.stop, 5.0)

    assert delivered[:2] == [
        [("handed over", None, None)],
        [("collected", None, None)],
    ]
