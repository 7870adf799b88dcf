"""Threads that carry librdkafka's events over to the asyncio event loop.

librdkafka reports deliveries and hands out fetched messages only to a thread that
calls `poll()` or `consume()`, and those calls block. Each client therefore owns one
daemon thread for them. Work crosses to the loop once per batch through
`loop.call_soon_threadsafe`, never once per message: a thread hop costs a wake-up of
the loop's selector, far more than resolving a future.

While the loop is busy sending, the producer also serves reports on the loop itself
(`serve_here`), and the polling thread steps aside. confluent-kafka takes the GIL
once per delivery callback; a polling thread contending with a busy loop for it
waits on every record, which halves what a sending loop can push. See
docs/adr/0006-busy-loop-serves-delivery-reports.md.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["DeliveryPoller", "DeliveryReport"]

logger = logging.getLogger(__name__)

# (future or batch slot, error, message) as recorded by a delivery callback.
DeliveryReport = tuple[Any, Any, Any]


class DeliveryPoller:
    """Serves a producer's delivery reports and hands them to the loop in batches.

    Delivery callbacks append to `reports` (a list the producer shares with its
    callbacks); they may run on this thread, on the loop, or on a worker thread
    that runs a librdkafka flush (`AsyncProducer.flush()` and a transaction
    commit both do). The
    list is drained with a length snapshot and a slice delete, two operations that
    are each atomic under the GIL, so an append racing the drain is kept for the
    next batch rather than lost.
    """

    def __init__(
        self,
        native: Any,
        loop: asyncio.AbstractEventLoop,
        deliver: Callable[[list[DeliveryReport]], None],
        *,
        reports: list[DeliveryReport],
        on_room: Callable[[], None],
        name: str,
        poll_interval: float = 0.1,
    ) -> None:
        self.reports = reports
        self._native = native
        self._loop = loop
        self._deliver = deliver
        self._on_room = on_room
        # Set by the loop while records wait for room in librdkafka's queue.
        self.room_wanted = False
        # True while the loop serves reports itself; the thread waits meanwhile.
        self.loop_serving = False
        self._thread_may_serve = threading.Event()
        self._poll_interval = poll_interval
        self._stopping = threading.Event()
        self._handing_over = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        """Start the polling thread."""
        self._thread.start()

    def barrier(self) -> asyncio.Future[None]:
        """A future resolved once every report collected so far has reached the loop.

        Called on the loop. Batches the thread already handed over wait in the
        loop's queue of ready callbacks; reports collected but not yet handed over
        (by a thread still inside `poll()`, or by a worker's flush) are
        taken here. The future resolves right after both, in order, without
        waiting for the thread, which may sit in `poll()` for a whole
        `poll_interval` when nothing arrives.
        """
        loop = self._loop
        future: asyncio.Future[None] = loop.create_future()
        # The thread takes a batch and schedules it under the same lock, so no
        # batch taken before this point can be scheduled after the future.
        with self._handing_over:
            batch = self.take_reports()
            if batch:
                loop.call_soon(self._deliver, batch)
            loop.call_soon(_resolve, future)
        return future

    def stop(self, timeout: float | None = None) -> None:
        """Stop the thread after its current poll; hand over what it collected."""
        self._stopping.set()
        self._thread_may_serve.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def take_reports(self) -> list[DeliveryReport]:
        """Remove and return the reports collected so far."""
        reports = self.reports
        count = len(reports)
        batch = reports[:count]
        del reports[:count]
        return batch

    def serve_here(self) -> None:
        """Serve the reports librdkafka has ready on the loop, and deliver them.

        Called on the loop while it is sending. The loop takes over from the
        polling thread: it serves again at each of its iterations for as long as
        that keeps finding reports, and hands back to the thread at the first
        iteration that finds none. Taking over even when this call finds nothing
        matters: a thread blocked in `poll()` catches each report the moment it
        arrives, and would keep taking the GIL from the sending loop for it.
        """
        self._native.poll(0)
        if not self.loop_serving:
            self._thread_may_serve.clear()
            self.loop_serving = True
            self._loop.call_soon(self._serve_while_busy)
        if self.reports:
            self._deliver(self.take_reports())

    def _serve_while_busy(self) -> None:
        if self._native.poll(0) and not self._stopping.is_set():
            self._loop.call_soon(self._serve_while_busy)
        else:
            self.loop_serving = False
            self._thread_may_serve.set()
        if self.reports:
            self._deliver(self.take_reports())

    def hand_over(self) -> None:
        """Pass every collected report to the loop in one call."""
        if not self.reports:
            return

        with self._handing_over:
            batch = self.take_reports()
            if not batch:
                return
            try:
                self._loop.call_soon_threadsafe(self._deliver, batch)
            except RuntimeError:
                # The loop is closed: nobody is left to await these futures.
                logger.warning(
                    "event loop closed; %d delivery reports dropped", len(batch)
                )

    def _run(self) -> None:
        native = self._native
        interval = self._poll_interval
        while not self._stopping.is_set():
            try:
                if self.loop_serving:
                    self._thread_may_serve.wait(interval)
                else:
                    served = native.poll(interval)
                    if served and self.room_wanted:
                        # Deliveries freed room: let the loop move parked records
                        # in now rather than at its next retry.
                        self.room_wanted = False
                        self._loop.call_soon_threadsafe(self._on_room)
            except Exception:
                # A fatal producer error (fenced, for example) is raised by poll()
                # as well as by every later send; keep serving what is left.
                logger.exception("delivery poller: librdkafka poll failed")
                self._stopping.wait(interval)
            self.hand_over()
        self.hand_over()


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
