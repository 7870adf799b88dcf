"""How `AsyncAdmin` talks to librdkafka: awaited futures, translated errors.

confluent-kafka's `AdminClient` answers with `concurrent.futures` that librdkafka's
background thread resolves; they are awaited through `asyncio.wrap_future`, so no
request blocks the event loop. The one blocking call, the metadata request behind
`list_topics`, runs on a worker thread of our own, which `shutdown()` waits for
before the native handle is destroyed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import time
from collections.abc import (
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Iterator,
    Mapping,
)
from typing import Any, TypeVar

import confluent_kafka

from kafka_utils.errors import (
    ConfigurationError,
    KafkaUtilsError,
    UnknownTopicError,
    translate_kafka_error,
)

__all__ = [
    "AdminRequests",
    "LibrdkafkaLog",
    "both",
    "enum_name",
    "raise_partition_errors",
]

logger = logging.getLogger(__name__)
_native_logger = logging.getLogger("kafka_utils.client.admin.librdkafka")

T = TypeVar("T")
K = TypeVar("K")
A = TypeVar("A")
B = TypeVar("B")

# Answers of a group coordinator that is moving or still loading its partition of
# __consumer_offsets (a fresh cluster creates that topic on the first group call).
_COORDINATOR_CODES = frozenset(
    {"NOT_COORDINATOR", "COORDINATOR_NOT_AVAILABLE", "COORDINATOR_LOAD_IN_PROGRESS"}
)

# Answers of a broker that is not, or not yet, the leader of a partition: right
# after a topic is created or a broker starts, leadership is still settling.
_LEADER_CODES = frozenset({"NOT_LEADER_FOR_PARTITION", "LEADER_NOT_AVAILABLE"})

# How long after creating a topic this client keeps retrying a broker that answers
# "unknown topic": in KRaft each broker applies the controller's metadata on its
# own, so right after a create one broker may know the topic and the next not yet.
FRESH_TOPIC_GRACE_S = 10.0


class LibrdkafkaLog:
    """Receives librdkafka's log lines and passes them on at DEBUG.

    Every failure the admin sees reaches the caller as a typed error, so these
    lines are diagnostics; left to librdkafka they would be printed to stderr.
    They are queued until `AdminClient.poll()`, which `AdminRequests` calls after
    each request.
    """

    def log(self, level: int, message: str, *args: Any) -> None:
        """Log one librdkafka line (confluent-kafka calls `logger.log`)."""
        _native_logger.debug(message, *args)


class AdminRequests:
    """confluent-kafka's `AdminClient` behind awaitable, translated requests.

    Args:
        native: the `AdminClient`.
        timeout: seconds each request may take (librdkafka's request_timeout).
    """

    def __init__(self, native: Any, timeout: float) -> None:
        self.native = native
        self.timeout = timeout
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=2, thread_name_prefix="kafka-utils-admin"
        )
        # Topics this client created, with the time their grace period ends.
        self._fresh_topics: dict[str, float] = {}

    def note_created(self, name: str) -> None:
        """Remember that this client created `name`, for `run_topic`'s retries."""
        now = time.monotonic()
        for expired in [t for t, end in self._fresh_topics.items() if end < now]:
            del self._fresh_topics[expired]
        self._fresh_topics[name] = now + min(FRESH_TOPIC_GRACE_S, self.timeout)

    def forget_topic(self, name: str) -> None:
        """Stop retrying for `name`: it was deleted, "unknown" is now the truth."""
        self._fresh_topics.pop(name, None)

    async def run(
        self, context: str, call: Callable[[], concurrent.futures.Future[T]]
    ) -> T:
        """Submit one request and await its future.

        Args:
            context: what is being done, for error messages ("create topic 'x'").
            call: sends the request and returns its future.
        """
        future = _submit(context, call)
        try:
            with _translated(context):
                return await asyncio.wrap_future(future)
        finally:
            self._serve_logs()

    async def run_each(
        self,
        context: str,
        call: Callable[[], Mapping[K, concurrent.futures.Future[T]]],
    ) -> dict[K, T]:
        """Submit a request answered with one future per key, and await them all."""
        futures = _submit(context, call)
        try:
            with _translated(context):
                results = await asyncio.gather(
                    *(asyncio.wrap_future(future) for future in futures.values())
                )
        finally:
            self._serve_logs()
        return dict(zip(futures, results, strict=True))

    async def run_group(
        self, context: str, call: Callable[[], concurrent.futures.Future[T]]
    ) -> T:
        """`run` for consumer-group requests, retried while the coordinator is busy."""
        return await self._retry_on(
            lambda: self.run(context, call),
            retry_if=lambda error: error.code in _COORDINATOR_CODES,
            first_delay=0.1,
        )

    async def run_topic(
        self, topic: str, context: str, call: Callable[[], concurrent.futures.Future[T]]
    ) -> T:
        """`run` for a request about one topic, read-your-writes after a create.

        A broker that answers "unknown topic" for a topic this client created in
        the last `FRESH_TOPIC_GRACE_S` seconds has not applied the new metadata
        yet, so the request is retried until the grace period ends. Any other
        topic fails at once with `UnknownTopicError`.
        """
        grace_ends = self._fresh_topics.get(topic)
        if grace_ends is None:
            return await self.run(context, call)
        return await self._retry_on(
            lambda: self.run(context, call),
            retry_if=lambda error: isinstance(error, UnknownTopicError),
            first_delay=0.02,
            max_delay=0.5,
            deadline=grace_ends,
        )

    async def run_each_on_leaders(
        self,
        context: str,
        call: Callable[[], Mapping[K, concurrent.futures.Future[T]]],
    ) -> dict[K, T]:
        """`run_each` for requests that partition leaders serve.

        Retried while a partition's leadership settles: right after a topic is
        created or a broker restarts, the broker asked may not lead it yet.
        """
        return await self._retry_on(
            lambda: self.run_each(context, call),
            retry_if=lambda error: error.code in _LEADER_CODES,
            first_delay=0.05,
        )

    async def _retry_on(
        self,
        attempt: Callable[[], Awaitable[T]],
        *,
        retry_if: Callable[[KafkaUtilsError], bool],
        first_delay: float,
        max_delay: float = 1.0,
        deadline: float | None = None,
    ) -> T:
        """Await `attempt()`, retried while it fails with an error `retry_if` accepts.

        The delay doubles from `first_delay` up to `max_delay`, until `deadline`
        (`time.monotonic()`; by default the request timeout from now) would pass;
        then the last error is raised.
        """
        if deadline is None:
            deadline = time.monotonic() + self.timeout
        delay = first_delay
        while True:
            try:
                return await attempt()
            except KafkaUtilsError as error:
                if not retry_if(error) or time.monotonic() + delay > deadline:
                    raise
                logger.debug("%s; retrying in %.2fs", error, delay)

            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay)

    async def blocking(self, context: str, function: Callable[..., T], *args: Any) -> T:
        """Run a blocking confluent-kafka call on the worker thread."""
        future = self._executor.submit(function, *args)
        try:
            with _translated(context):
                return await asyncio.wrap_future(future)
        finally:
            self._serve_logs()

    async def shutdown(self) -> None:
        """Wait for the worker thread, then destroy the native handle."""
        await asyncio.to_thread(self._executor.shutdown, wait=True)

        # confluent-kafka: AdminClient.__exit__ destroys the handle.
        await asyncio.to_thread(self.native.__exit__, None, None, None)

    def _serve_logs(self) -> None:
        """Hand librdkafka's queued log lines to `LibrdkafkaLog`."""
        self.native.poll(0)


async def both(
    first: Coroutine[Any, Any, A], second: Coroutine[Any, Any, B]
) -> tuple[A, B]:
    """Run two requests at once; if one fails, cancel and await the other.

    `asyncio.gather` would leave the other running after the first error, and it
    would then fail against a closed client. `TaskGroup` would wrap the error in
    an `ExceptionGroup`; callers expect the typed error itself.
    """
    first_task, second_task = (
        asyncio.ensure_future(first),
        asyncio.ensure_future(second),
    )
    try:
        return await first_task, await second_task
    except BaseException:
        first_task.cancel()
        second_task.cancel()
        await asyncio.gather(first_task, second_task, return_exceptions=True)
        raise


def raise_partition_errors(partitions: Iterable[Any] | None, context: str) -> None:
    """Raise the first per-partition error of a consumer-group offsets result."""
    for tp in partitions or []:
        if tp.error is not None:
            raise translate_kafka_error(
                tp.error, context=f"{context} [{tp.topic} {tp.partition}]"
            )


def enum_name(value: Any) -> str:
    """The name of a confluent-kafka enum member, or UNKNOWN when it is absent."""
    return str(value.name) if value is not None else "UNKNOWN"


@contextlib.contextmanager
def _translated(context: str) -> Iterator[None]:
    """Translate the librdkafka error of an awaited request."""
    try:
        yield
    except confluent_kafka.KafkaException as error:
        raise translate_kafka_error(error, context=context) from None


def _submit(context: str, call: Callable[[], T]) -> T:
    """Call a confluent-kafka request method, turning its errors into ours."""
    try:
        return call()
    except confluent_kafka.KafkaException as error:
        raise translate_kafka_error(error, context=context) from None
    except (TypeError, ValueError) as error:
        # confluent-kafka checks its arguments before sending anything.
        raise ConfigurationError(f"{context}: {error}") from None
