"""AsyncProducer: sends records through librdkafka without blocking the event loop.

`produce()` only appends to librdkafka's local queue, so it is called directly on the
loop. Delivery reports are served by a `DeliveryPoller` thread and resolve the
futures in batches on the loop. When librdkafka's queue is full, records wait in an
ordered overflow on the Python side until there is room, bounded by
`queue_full_timeout`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Self

import confluent_kafka
from typing_extensions import TypeVar

from kafka_utils._records import RecordMetadata, TopicPartition
from kafka_utils.client._bridge import DeliveryPoller, DeliveryReport
from kafka_utils.client._config import build_config, check_reachable, create_native
from kafka_utils.client._lifecycle import ClientState, require_started
from kafka_utils.errors import (
    ClientClosedError,
    KafkaTimeoutError,
    KafkaUtilsError,
    SerializationError,
    translate_kafka_error,
)
from kafka_utils.serialization import BytesSerializer, Serializer
from kafka_utils.settings import KafkaSettings

if TYPE_CHECKING:
    from kafka_utils.client.consumer import AsyncConsumer

__all__ = ["AsyncProducer", "ProducerRecord"]

logger = logging.getLogger(__name__)

K = TypeVar("K", default=bytes)
V = TypeVar("V", default=bytes)

HeadersInput = (
    Mapping[str, bytes | str | None] | Sequence[tuple[str, bytes | str | None]]
)

_DEFAULTS: dict[str, Any] = {
    "acks": "all",
    "enable.idempotence": True,
    # An awaited send on an idle producer must not wait for a batch to fill:
    # librdkafka still batches under load, because records queue up while earlier
    # requests are in flight. See docs/adr/0003-producer-defaults.md.
    "linger.ms": 0,
    # librdkafka waits this long before failing records for a topic the cluster
    # says does not exist (default 30 s); creation through AsyncAdmin waits for the
    # topic to be visible, so a short window is enough and typos fail fast.
    "topic.metadata.propagation.max.ms": 2000,
}


@dataclass(frozen=True, slots=True)
class ProducerRecord(Generic[K, V]):
    """One record for `AsyncProducer.send_batch`."""

    topic: str
    value: V | None = None
    key: K | None = None
    headers: HeadersInput | None = None
    partition: int | None = None
    timestamp_ms: int | None = None


class _BatchOutcome:
    """Collects the per-record outcomes of one `send_batch` call on the loop."""

    __slots__ = ("future", "outcomes", "remaining")

    def __init__(self, future: asyncio.Future[list[Any]], size: int) -> None:
        self.future = future
        self.outcomes: list[Any] = [None] * size
        self.remaining = size


class AsyncProducer(Generic[K, V]):
    """An asyncio Kafka producer on librdkafka.

    Use it as an async context manager, or call `start()` and `close()`:

    ```python
    async with AsyncProducer(settings) as producer:
        metadata = await producer.send("orders", b"payload", key=b"order-1")
    ```

    Defaults: `acks=all`, idempotence on, `linger.ms=0`. Any librdkafka producer
    option can be passed as a keyword, dotted or snake_case (`linger_ms=5`).

    Args:
        settings: connection settings; `KafkaSettings()` (from the environment)
            when omitted.
        transactional_id: enables transactions (`transaction()`); must be unique
            per producer instance.
        key_serializer: turns keys into bytes; bytes are required by default.
        value_serializer: turns values into bytes; bytes are required by default.
        queue_full_timeout: how long, in seconds, a record may wait for room when
            librdkafka's local queue (`queue.buffering.max.messages`) is full.
        connect_timeout: how long `start()` waits for the cluster's metadata
            before failing with `BrokerUnavailableError`.
        **options: librdkafka producer options; they override `settings`.

    Raises:
        ConfigurationError: an option is unknown or has an invalid value.
    """

    def __init__(
        self,
        settings: KafkaSettings | None = None,
        *,
        transactional_id: str | None = None,
        key_serializer: Serializer[K] | None = None,
        value_serializer: Serializer[V] | None = None,
        queue_full_timeout: float = 30.0,
        connect_timeout: float = 10.0,
        **options: Any,
    ) -> None:
        if transactional_id is not None:
            options["transactional.id"] = transactional_id
        self._config = build_config(settings, _DEFAULTS, options)
        self._native: Any = create_native(confluent_kafka.Producer, self._config)
        self._transactional = "transactional.id" in self._config
        self._key_serializer: Serializer[Any] = key_serializer or BytesSerializer()
        self._value_serializer: Serializer[Any] = value_serializer or BytesSerializer()
        self._keys_are_bytes = type(self._key_serializer) is BytesSerializer
        self._values_are_bytes = type(self._value_serializer) is BytesSerializer
        self._queue_full_timeout = queue_full_timeout
        self._connect_timeout = connect_timeout
        self._state = ClientState.CREATED
        self._loop: asyncio.AbstractEventLoop | None = None
        self._poller: DeliveryPoller | None = None
        self._in_flight = 0
        self._drained: asyncio.Event | None = None
        # Records waiting for room in librdkafka's queue, oldest first:
        # (deadline, produce arguments, future or batch slot).
        self._overflow: deque[tuple[float, dict[str, Any], Any]] = deque()
        self._overflow_timer: asyncio.TimerHandle | None = None

    @property
    def state(self) -> ClientState:
        """The lifecycle state: created, started, closing or closed."""
        return self._state

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Check the cluster is reachable and start serving delivery reports.

        Raises:
            BrokerUnavailableError: no broker answered within `connect_timeout`.
            TransactionError: `init_transactions` failed for a transactional producer.
        """
        if self._state is not ClientState.CREATED:
            raise ClientClosedError(
                f"AsyncProducer cannot start: it is {self._state.value}"
            )

        loop = asyncio.get_running_loop()
        self._loop = loop
        self._drained = asyncio.Event()
        self._drained.set()
        await check_reachable(self._native, self._connect_timeout, self._config)

        self._poller = DeliveryPoller(
            self._native, loop, self._on_deliveries, name="kafka-utils-producer-poll"
        )
        self._poller.start()
        self._state = ClientState.STARTED

        if self._transactional:
            await self._call_transactional(
                "init transactions",
                self._native.init_transactions,
                self._connect_timeout,
            )
        logger.info(
            "producer %s started (bootstrap %s)",
            self._config.get("client.id"),
            self._config.get("bootstrap.servers"),
        )

    async def close(self, timeout: float = 30.0) -> None:
        """Flush pending records, then stop; no future is left pending.

        Records not delivered within `timeout` have their futures failed with
        `KafkaTimeoutError` or `ClientClosedError`. Calling `close` twice is safe.
        """
        if self._state in (ClientState.CLOSING, ClientState.CLOSED):
            return
        if self._state is ClientState.CREATED:
            self._state = ClientState.CLOSED
            return

        self._state = ClientState.CLOSING
        try:
            await self.flush(timeout)
        except KafkaTimeoutError:
            logger.warning(
                "producer closed with %d records undelivered after %.1fs",
                self._in_flight + len(self._overflow),
                timeout,
            )

        # Nothing new enters librdkafka from here on: parked records fail now, and
        # what librdkafka still holds is purged, which reports each record failed.
        self._fail_overflow(
            ClientClosedError("producer closed before the record was delivered")
        )
        assert self._poller is not None
        poller = self._poller
        await asyncio.to_thread(poller.stop)
        await asyncio.to_thread(self._native.purge)
        await asyncio.to_thread(self._native.flush, 1.0)
        self._on_deliveries(poller.take_reports())
        if self._in_flight:
            logger.error(
                "producer %s closed with %d records never reported by librdkafka",
                self._config.get("client.id"),
                self._in_flight,
            )
        self._state = ClientState.CLOSED
        logger.info("producer %s closed", self._config.get("client.id"))

    async def send(
        self,
        topic: str,
        value: V | None = None,
        *,
        key: K | None = None,
        headers: HeadersInput | None = None,
        partition: int | None = None,
        timestamp_ms: int | None = None,
    ) -> RecordMetadata:
        """Send one record and wait until the broker acknowledges it.

        Returns:
            Where the record was stored.

        Raises:
            SerializationError: the key or value has the wrong type.
            RecordTooLargeError: the record exceeds `message.max.bytes`.
            UnknownTopicError: the topic does not exist.
            KafkaTimeoutError: not delivered within `delivery.timeout.ms`, or no room
                in the local queue within `queue_full_timeout`.
        """
        return await self.send_nowait(
            topic,
            value,
            key=key,
            headers=headers,
            partition=partition,
            timestamp_ms=timestamp_ms,
        )

    def send_nowait(
        self,
        topic: str,
        value: V | None = None,
        *,
        key: K | None = None,
        headers: HeadersInput | None = None,
        partition: int | None = None,
        timestamp_ms: int | None = None,
    ) -> asyncio.Future[RecordMetadata]:
        """Queue one record and return a future of its `RecordMetadata`.

        Never blocks: when librdkafka's queue is full the record waits, in order, in
        an overflow on the Python side. Errors found before queueing (wrong type,
        record too large, closed producer) are raised here; delivery errors are
        set on the future.
        """
        require_started(self._state, "AsyncProducer")
        assert self._loop is not None
        arguments = self._produce_arguments(
            topic, value, key, headers, partition, timestamp_ms
        )
        future: asyncio.Future[RecordMetadata] = self._loop.create_future()
        self._produce(arguments, future)
        return future

    async def send_batch(
        self, records: Iterable[ProducerRecord[K, V]]
    ) -> list[RecordMetadata | KafkaUtilsError]:
        """Send many records and return each one's outcome, in the order given.

        One record failing (too large, wrong type, not delivered) never affects the
        others: its slot in the result holds the error instead of metadata.
        """
        require_started(self._state, "AsyncProducer")
        assert self._loop is not None
        records = list(records)
        outcome = _BatchOutcome(self._loop.create_future(), len(records))
        if not records:
            return []

        for index, record in enumerate(records):
            try:
                arguments = self._produce_arguments(
                    record.topic,
                    record.value,
                    record.key,
                    record.headers,
                    record.partition,
                    record.timestamp_ms,
                )
                self._produce(arguments, (outcome, index))
            except KafkaUtilsError as error:
                self._settle_slot(outcome, index, error)

        return await outcome.future

    async def flush(self, timeout: float | None = None) -> None:
        """Wait until every record sent so far is delivered or has failed.

        Raises:
            KafkaTimeoutError: records are still pending after `timeout` seconds.
        """
        if self._state is ClientState.CREATED or self._state is ClientState.CLOSED:
            return
        assert self._drained is not None and self._poller is not None
        if self._in_flight == 0 and not self._overflow:
            return

        self._poller.request_flush()
        try:
            await asyncio.wait_for(self._drained.wait(), timeout)
        except TimeoutError:
            raise KafkaTimeoutError(
                f"flush timed out after {timeout}s with "
                f"{self._in_flight + len(self._overflow)} records pending"
            ) from None

    @contextlib.asynccontextmanager
    async def transaction(self, timeout: float = 30.0) -> AsyncIterator[Self]:
        """Run a block in a Kafka transaction: commit on success, abort on error.

        ```python
        async with producer.transaction():
            await producer.send("out", b"a")
            await producer.send_offsets_to_transaction(offsets, consumer)
        ```

        Raises:
            TransactionError: begin, commit or abort failed; see its `abortable`
                and `fatal` flags.
        """
        require_started(self._state, "AsyncProducer")
        if not self._transactional:
            raise ClientClosedError(
                "transaction() needs AsyncProducer(transactional_id=...)"
            )

        await self._call_transactional(
            "begin transaction", self._native.begin_transaction
        )
        try:
            yield self
        except BaseException:
            logger.info("aborting transaction of %s", self._config["transactional.id"])
            await self._call_transactional(
                "abort transaction", self._native.abort_transaction, timeout
            )
            raise
        await self._call_transactional(
            "commit transaction", self._native.commit_transaction, timeout
        )

    async def send_offsets_to_transaction(
        self,
        offsets: Mapping[TopicPartition, int],
        consumer: AsyncConsumer[Any, Any],
        timeout: float = 30.0,
    ) -> None:
        """Commit a consumer's offsets as part of the current transaction (KIP-447).

        Args:
            offsets: the next offset to read for each partition (last processed
                offset + 1).
            consumer: the consumer the records were read with; its group metadata
                fences zombie instances after a rebalance.
            timeout: seconds to wait for the group coordinator.
        """
        native_offsets = [
            confluent_kafka.TopicPartition(tp.topic, tp.partition, offset)
            for tp, offset in offsets.items()
        ]
        group_metadata = await consumer.group_metadata()
        await self._call_transactional(
            "send offsets to transaction",
            functools.partial(
                self._native.send_offsets_to_transaction,
                native_offsets,
                group_metadata,
            ),
            timeout,
        )

    def _produce_arguments(
        self,
        topic: str,
        value: Any,
        key: Any,
        headers: HeadersInput | None,
        partition: int | None,
        timestamp_ms: int | None,
    ) -> dict[str, Any]:
        """Serialize and validate one record into `Producer.produce` arguments."""
        if value is not None and not (self._values_are_bytes and type(value) is bytes):
            try:
                value = self._value_serializer.serialize(value)
            except SerializationError as error:
                raise SerializationError(
                    f"value for topic {topic!r}: {error}"
                ) from None
        if key is not None and not (self._keys_are_bytes and type(key) is bytes):
            try:
                key = self._key_serializer.serialize(key)
            except SerializationError as error:
                raise SerializationError(f"key for topic {topic!r}: {error}") from None

        arguments: dict[str, Any] = {"topic": topic, "value": value, "key": key}
        if partition is not None:
            arguments["partition"] = partition
        if timestamp_ms is not None:
            arguments["timestamp"] = timestamp_ms
        if headers:
            arguments["headers"] = _normalize_headers(headers)
        return arguments

    def _produce(self, arguments: dict[str, Any], target: Any) -> None:
        """Hand one record to librdkafka, or park it in the overflow when full."""
        if self._overflow:
            self._park(arguments, target)
            return

        try:
            self._native.produce(
                **arguments, on_delivery=functools.partial(self._collect, target)
            )
        except BufferError:
            self._park(arguments, target)
            return
        except Exception as error:
            raise translate_kafka_error(
                error, context=f"send to topic {arguments['topic']!r}"
            ) from None

        self._in_flight += 1
        if self._in_flight == 1:
            assert self._drained is not None
            self._drained.clear()

    def _collect(self, target: Any, error: Any, message: Any) -> None:
        """Delivery callback, on librdkafka's polling thread: record and move on."""
        assert self._poller is not None
        self._poller.reports.append((target, error, message))

    def _on_deliveries(self, reports: list[DeliveryReport]) -> None:
        """Resolve a batch of delivery reports on the loop."""
        metadata = RecordMetadata
        for target, error, message in reports:
            if error is None:
                result: Any = metadata(
                    message.topic(),
                    message.partition(),
                    message.offset(),
                    message.timestamp()[1],
                )
            else:
                result = translate_kafka_error(
                    error, context=f"send to topic {message.topic()!r}"
                )
                logger.debug(
                    "delivery to %s [%s] failed: %s",
                    message.topic(),
                    message.partition(),
                    result,
                )

            if type(target) is tuple:
                self._settle_slot(target[0], target[1], result)
            elif not target.done():
                if error is None:
                    target.set_result(result)
                else:
                    target.set_exception(result)

        self._in_flight -= len(reports)
        if self._overflow:
            self._drain_overflow()
        if self._in_flight == 0 and not self._overflow:
            assert self._drained is not None
            self._drained.set()

    @staticmethod
    def _settle_slot(outcome: _BatchOutcome, index: int, result: Any) -> None:
        outcome.outcomes[index] = result
        outcome.remaining -= 1
        if outcome.remaining == 0 and not outcome.future.done():
            outcome.future.set_result(outcome.outcomes)

    def _park(self, arguments: dict[str, Any], target: Any) -> None:
        """Keep a record until librdkafka's queue has room again."""
        assert self._loop is not None and self._drained is not None
        deadline = time.monotonic() + self._queue_full_timeout
        self._overflow.append((deadline, arguments, target))
        self._drained.clear()
        if self._overflow_timer is None:
            self._overflow_timer = self._loop.call_later(0.05, self._drain_overflow)

    def _drain_overflow(self) -> None:
        """Move parked records into librdkafka while it has room; expire old ones."""
        overflow = self._overflow
        now = time.monotonic()
        while overflow:
            deadline, arguments, target = overflow[0]
            if now > deadline:
                overflow.popleft()
                self._fail_target(
                    target,
                    KafkaTimeoutError(
                        f"send to topic {arguments['topic']!r}: local queue stayed "
                        f"full for {self._queue_full_timeout}s"
                    ),
                )
                continue
            try:
                self._native.produce(
                    **arguments, on_delivery=functools.partial(self._collect, target)
                )
            except BufferError:
                break
            except Exception as error:
                overflow.popleft()
                self._fail_target(
                    target,
                    translate_kafka_error(
                        error, context=f"send to topic {arguments['topic']!r}"
                    ),
                )
                continue
            overflow.popleft()
            self._in_flight += 1

        if self._overflow_timer is not None:
            self._overflow_timer.cancel()
            self._overflow_timer = None
        if overflow:
            assert self._loop is not None
            self._overflow_timer = self._loop.call_later(0.05, self._drain_overflow)
        elif self._in_flight == 0:
            assert self._drained is not None
            self._drained.set()

    def _fail_target(self, target: Any, error: KafkaUtilsError) -> None:
        if type(target) is tuple:
            self._settle_slot(target[0], target[1], error)
        elif not target.done():
            target.set_exception(error)

    def _fail_overflow(self, error: KafkaUtilsError) -> None:
        while self._overflow:
            _, _, target = self._overflow.popleft()
            self._fail_target(target, error)
        if self._overflow_timer is not None:
            self._overflow_timer.cancel()
            self._overflow_timer = None

    async def _call_transactional(
        self, action: str, call: Any, timeout: float | None = None
    ) -> None:
        """Run a blocking transactional call off the loop, translating its errors."""
        try:
            if timeout is None:
                await asyncio.to_thread(call)
            else:
                await asyncio.to_thread(call, timeout)
        except confluent_kafka.KafkaException as error:
            raise translate_kafka_error(
                error, context=action, transactional=True
            ) from None


def _normalize_headers(headers: HeadersInput) -> list[tuple[str, bytes | None]]:
    """Headers as librdkafka takes them: a list of (str, bytes) pairs."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    normalized: list[tuple[str, bytes | None]] = []
    for name, value in pairs:
        if not isinstance(name, str):
            raise SerializationError(
                f"header name must be str, got {type(name).__name__}"
            )
        if isinstance(value, str):
            value = value.encode()
        elif value is not None and not isinstance(value, bytes):
            raise SerializationError(
                f"header {name!r} must be bytes, str or None, got {type(value).__name__}"
            )
        normalized.append((name, value))
    return normalized
