"""The consumer's owner thread: batch consume off the loop, hand batches over.

confluent-kafka (2.16 and later) admits one thread at a time into a Consumer and
makes any other thread spin until the current call returns, so a consumer that
another thread keeps inside `consume()` starves every call from the loop. This
thread therefore owns the librdkafka consumer: it makes every blocking call. The
loop queues commands (store, commit, seek, pause, ...) that run between two
`consume()` calls and resolve an asyncio future with their result.

While records flow, the loop may fetch for itself (`fetch_here`, ADR 0008): a
non-blocking `consume()` on the loop thread costs less than waking this thread and
waiting for it to take the GIL back from a busy loop. `native_lock` keeps the two
threads out of librdkafka at the same time, and every batch, whoever fetched it,
joins `handoff` under that lock, so batches reach the application in the order
librdkafka returned them. This thread waits for records while few flow; once it
has handed over a full batch, it parks and only runs commands while the loop
fetches, until the loop's first empty fetch hands waiting back to it.

Every batch carries the `generation` that was current when its `consume()` began;
the loop uses it to drop records fetched before a seek or pause took effect. At
most `max_batches` batches wait on the loop side unread; the thread then keeps
serving commands but stops consuming, like a Kafka consumer whose application
stops polling.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

__all__ = ["FetchThread"]

logger = logging.getLogger(__name__)

# (action, generation, future resolved on the loop with the action's result)
_Command = tuple[Callable[[], Any], int, "asyncio.Future[Any]"]
_WAKE_UP: Any = object()


class FetchThread:
    """Owns a librdkafka consumer: runs `consume()` and queued commands."""

    def __init__(
        self,
        native: Any,
        loop: asyncio.AbstractEventLoop,
        on_handoff: Callable[[], None],
        on_error: Callable[[BaseException], None],
        *,
        batch_size: int,
        max_batches: int,
        before_consume: Callable[[], None],
        loop_may_fetch: bool = False,
        poll_timeout: float = 0.05,
        name: str = "kafka-utils-fetch",
    ) -> None:
        self._native = native
        self._loop = loop
        self._on_handoff = on_handoff
        self._on_error = on_error
        self._before_consume = before_consume
        self._batch_size = batch_size
        self._poll_timeout = poll_timeout
        self._room = threading.Semaphore(max_batches)
        self._commands: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._generation = 0
        # Held around every call into librdkafka, on either thread.
        self.native_lock = threading.Lock()
        # (generation, messages) in fetch order; appended under native_lock.
        self.handoff: deque[tuple[int, list[Any]]] = deque()
        # Whether the loop fetches while records flow (`fetch_here`); if so, this
        # thread hands the loop every batch it waited for and then parks.
        self._loop_may_fetch = loop_may_fetch
        # True while the loop fetches for itself: this thread only runs commands.
        self._loop_fetching = False
        # Set when the parked thread has something to do: a command, a stop, or
        # the loop handing fetching back.
        self._attention = threading.Event()
        self.finished: asyncio.Future[None] = loop.create_future()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop consuming, close the consumer on this thread, then end.

        Await `finished` to know when the consumer is closed.
        """
        self._stopping.set()
        self._commands.put(_WAKE_UP)
        self._attention.set()

    def release(self) -> None:
        """The loop finished one handed-over batch: room for another."""
        self._room.release()

    def fetch_here(self) -> int:
        """Fetch what librdkafka already holds, on the calling (loop) thread.

        Never waits: returns 0 at once when this thread is inside librdkafka, when
        `max_batches` batches are still unread, or when nothing is fetched yet, and
        then hands waiting for records back to this thread. Fetched
        messages join `handoff`. Must not be called while rebalance callbacks may
        need to await: they would run here, on the loop thread.

        Returns:
            How many messages joined `handoff`.

        Raises:
            KafkaException: librdkafka's `consume()` failed.
        """
        if not self._room.acquire(blocking=False):
            self._hand_back()
            return 0
        if not self.native_lock.acquire(blocking=False):
            self._room.release()
            self._hand_back()
            return 0

        try:
            self._before_consume()
            messages: list[Any] = self._native.consume(self._batch_size, 0)
            if messages:
                self.handoff.append((self._generation, messages))
                self._loop_fetching = True
        except BaseException:
            self._room.release()
            raise
        finally:
            self.native_lock.release()

        if not messages:
            self._room.release()
            self._hand_back()
        return len(messages)

    def _hand_back(self) -> None:
        """The loop fetched nothing: this thread waits for records again."""
        if self._loop_fetching:
            self._loop_fetching = False
            self._attention.set()

    def submit(
        self, action: Callable[[], Any], generation: int = 0
    ) -> asyncio.Future[Any]:
        """Run `action` on this thread between two consumes; await its result.

        Batches consumed after the action carry at least `generation`.
        """
        future: asyncio.Future[Any] = self._loop.create_future()
        if not self._thread.is_alive() and self._thread.ident is not None:
            future.cancel()
            return future
        self._commands.put((action, generation, future))
        self._attention.set()
        return future

    def serve_until(self, done: concurrent.futures.Future[Any]) -> None:
        """Run commands while waiting for `done` (a coroutine on the loop).

        Used inside rebalance callbacks: the coroutine may await consumer calls,
        which are commands this thread must run for the coroutine to finish. The
        callback runs inside a librdkafka call, so this thread already holds
        `native_lock`.
        """
        done.add_done_callback(lambda _: self._commands.put(_WAKE_UP))
        while not done.done():
            try:
                command = self._commands.get(timeout=1.0)
            except queue.Empty:
                if self._loop.is_closed():
                    return
                continue
            self._run_command(command)

    def _run_commands(self) -> None:
        """Run every queued command; the caller holds `native_lock`."""
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return
            self._run_command(command)

    def _run_command(self, command: Any) -> None:
        if command is _WAKE_UP:
            return

        action, generation, future = command
        try:
            result = action()
        except BaseException as error:  # handed to the awaiting coroutine
            self._call_on_loop(_set_exception, future, error)
        else:
            self._call_on_loop(_set_result, future, result)
        self._generation = max(self._generation, generation)

    def _call_on_loop(self, callback: Callable[..., Any], *args: Any) -> None:
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:
            logger.warning("event loop closed; consumer fetch thread stops")
            self._stopping.set()

    def _run(self) -> None:
        try:
            self._fetch_until_stopped()
            with self.native_lock:
                self._run_commands()
                self._before_consume()
                # close() commits stored offsets and runs the final revoke
                # callback here, on the owner thread.
                self._native.close()
        except BaseException as error:
            logger.exception("consumer fetch thread failed")
            self._call_on_loop(self._on_error, error)
        finally:
            self._cancel_leftover_commands()
            self._call_on_loop(_set_result, self.finished, None)

    def _fetch_until_stopped(self) -> None:
        native = self._native
        batch_size = self._batch_size
        poll_timeout = self._poll_timeout
        while not self._stopping.is_set():
            self._attention.clear()
            with self.native_lock:
                self._run_commands()
            if self._loop_fetching:
                self._attention.wait(poll_timeout)
                continue
            if not self._room.acquire(timeout=poll_timeout):
                continue

            messages: list[Any] = []
            failure: Exception | None = None
            with self.native_lock:
                # The loop may have taken over while this thread waited.
                if not self._loop_fetching:
                    self._before_consume()
                    generation = self._generation
                    try:
                        messages = self._fetch_batch(native, batch_size, poll_timeout)
                    except Exception as error:
                        failure = error
                    if messages:
                        self.handoff.append((generation, messages))
                        # A full batch means librdkafka holds more: records flow
                        # faster than they are read, and the loop takes over.
                        # Below that, this thread keeps waiting for each arrival,
                        # which is what keeps latency low at modest rates.
                        self._loop_fetching = (
                            self._loop_may_fetch and len(messages) >= batch_size
                        )

            if messages:
                self._call_on_loop(self._on_handoff)
                continue
            self._room.release()
            if failure is not None:
                self._call_on_loop(self._on_error, failure)
                self._stopping.wait(poll_timeout)

    @staticmethod
    def _fetch_batch(native: Any, batch_size: int, poll_timeout: float) -> list[Any]:
        """Up to `batch_size` messages, handed over as soon as there is one.

        librdkafka's batch consume waits until the batch is full or the timeout
        passes, which at a low rate would hold every record for the whole timeout.
        So: take what is already fetched without waiting; when nothing is, wait
        for one message, then add whatever arrived with it.
        """
        messages: list[Any] = native.consume(batch_size, 0)
        if messages:
            return messages

        first = native.poll(poll_timeout)
        if first is None:
            return messages
        messages = [first]
        if batch_size > 1:
            messages += native.consume(batch_size - 1, 0)
        return messages

    def _cancel_leftover_commands(self) -> None:
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return
            if command is not _WAKE_UP:
                self._call_on_loop(_cancel, command[2])


def _set_result(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():
        future.set_result(result)


def _set_exception(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)


def _cancel(future: asyncio.Future[Any]) -> None:
    future.cancel()
