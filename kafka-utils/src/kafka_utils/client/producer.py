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
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Self

import confluent_kafka
from typing_extensions import TypeVar

from kafka_utils._records import RecordMetadata, TopicPartition, make_record_metadata
from kafka_utils.client._bridge import DeliveryPoller, DeliveryReport
from kafka_utils.client._config import (
    LIBRDKAFKA_LOGGER,
    build_config,
    check_reachable,
    create_native,
)
from kafka_utils.client._deliveries import delivery, resolve_deliveries, settle_future
from kafka_utils.client._lifecycle import (
    ClientLifecycle,
    ClientState,
    require_started,
)
from kafka_utils.errors import (
    ClientClosedError,
    ConfigurationError,
    DeliveryError,
    KafkaTimeoutError,
    KafkaUtilsError,
    SerializationError,
    TransactionError,
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
    # requests are in flight. See docs/adr/0004-producer-and-consumer-defaults.md.
    "linger.ms": 0,
    # librdkafka waits this long before failing records for a topic the cluster
    # says does not exist (default 30 s); creation through AsyncAdmin waits for the
    # topic to be visible, so a short window is enough and typos fail fast.
    "topic.metadata.propagation.max.ms": 2000,
}


_STARTED = ClientState.STARTED

# librdkafka's "any partition" (RD_KAFKA_PARTITION_UA).
_ANY_PARTITION = -1

# Producer.produce is always called with positional arguments: with keywords,
# confluent-kafka's argument parsing looks up each of its eight parameter names in
# the keyword dictionary, about 0.3 µs per call, 40% of the call itself. Positions:
# topic, value, key, partition, callback, (alias of callback), timestamp, headers.
ProduceArguments = tuple[str, Any, Any, int, int, list[tuple[str, bytes | None]] | None]
"""(topic, value, key, partition, timestamp, headers) of one serialized record."""

# The longest librdkafka flush() call AsyncProducer.flush() makes at a time, so
# that it checks its own deadline and moves parked records in between calls.
_FLUSH_SLICE_SECONDS = 0.05

# How often parked records retry to enter librdkafka's full queue.
_OVERFLOW_RETRY_SECONDS = 0.005

# Awaited sends get futures of exactly this type (see kafka_utils.client._deliveries).
_Future = asyncio.Future

# A sending loop serves delivery reports itself once per this many records (a power
# of two, tested with a mask); see DeliveryPoller.serve_here.
_SERVE_EVERY = 64


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

    def settle(self, index: int, result: Any) -> None:
        self.outcomes[index] = result
        self.remaining -= 1
        if self.remaining == 0 and not self.future.done():
            self.future.set_result(self.outcomes)


def _forgotten_delivery_callback(
    reports: list[DeliveryReport],
) -> Callable[[Any, Any], None]:
    """The one delivery callback shared by every record sent with `produce()`."""
    append = reports.append

    def on_delivery(error: Any, message: Any) -> None:
        if error is not None:
            append((None, error, message))

    return on_delivery


def _batch_slot_type(reports: list[DeliveryReport]) -> type[Any]:
    """The class of `send_batch` slots: each is its record's delivery callback.

    One object per record is all a batch send costs on the Python side; a
    `functools.partial` per record would add two more objects for the cyclic
    garbage collector to walk while the record is in flight. (An awaited send gets
    a plain future and a compiled `delivery` callback instead; see
    kafka_utils.client._deliveries.)
    """
    append = reports.append

    class BatchSlot:
        __slots__ = ("index", "outcome")

        def __init__(self, outcome: _BatchOutcome, index: int) -> None:
            self.outcome = outcome
            self.index = index

        def __call__(self, error: Any, message: Any) -> None:
            append((self, error, message))

        def settle(self, result: Any, failed: bool) -> None:
            self.outcome.settle(self.index, result)

    return BatchSlot


class AsyncProducer(ClientLifecycle, Generic[K, V]):
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
        self._native: Any = create_native(
            confluent_kafka.Producer, {**self._config, "logger": LIBRDKAFKA_LOGGER}
        )
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
        self._reports: list[DeliveryReport] = []
        self._slot_type = _batch_slot_type(self._reports)
        # Records sent with produce() share one callback: nothing per record stays
        # alive on the Python side while librdkafka holds it.
        self._forget_callback = _forgotten_delivery_callback(self._reports)
        self._forgotten_failures: list[KafkaUtilsError] = []
        self._forgotten_failure_count = 0
        self._in_flight = 0
        self._sends = 0
        # Records waiting for room in librdkafka's queue, oldest first:
        # (deadline, produce arguments, future or batch slot).
        self._overflow: deque[tuple[float, ProduceArguments, Any]] = deque()
        self._overflow_timer: asyncio.TimerHandle | None = None
        self._overflow_empty = asyncio.Event()
        self._overflow_empty.set()

    async def start(self) -> None:
        """Check the cluster is reachable and start serving delivery reports.

        Raises:
            BrokerUnavailableError: no broker answered within `connect_timeout`.
            TransactionError: `init_transactions` failed for a transactional producer.
        """
        self.require_created()

        loop = asyncio.get_running_loop()
        self._loop = loop
        await check_reachable(self._native, self._connect_timeout, self._config)

        self._poller = DeliveryPoller(
            self._native,
            loop,
            self._on_deliveries,
            reports=self._reports,
            on_room=self._drain_overflow,
            name="kafka-utils-producer-poll",
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
        undelivered: DeliveryError | None = None
        try:
            await self.flush(timeout)
        except DeliveryError as error:
            undelivered = error
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
        # Fire-and-forget records that failed, during the flush or the purge.
        if undelivered is not None:
            raise undelivered
        self._raise_forgotten_failures()

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
        if self._state is not _STARTED:
            require_started(self._state, "AsyncProducer")
        future: asyncio.Future[RecordMetadata] = _Future(loop=self._loop)
        callback = delivery(self._reports, future)
        if self._produce_plain(
            topic, value, key, headers, partition, timestamp_ms, callback
        ):
            return future

        arguments = self._produce_arguments(
            topic, value, key, headers, partition, timestamp_ms
        )
        self._produce(arguments, callback)
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

        slot_type = self._slot_type
        for index, record in enumerate(records):
            topic, value, key = record.topic, record.value, record.key
            headers, partition = record.headers, record.partition
            timestamp_ms = record.timestamp_ms
            slot = slot_type(outcome, index)
            try:
                if not self._produce_plain(
                    topic, value, key, headers, partition, timestamp_ms, slot
                ):
                    arguments = self._produce_arguments(
                        topic, value, key, headers, partition, timestamp_ms
                    )
                    self._produce(arguments, slot)
            except KafkaUtilsError as error:
                outcome.settle(index, error)

        return await outcome.future

    async def flush(self, timeout: float | None = None) -> None:
        """Wait until every record sent so far is delivered or has failed.

        Raises:
            KafkaTimeoutError: records are still pending after `timeout` seconds.
            DeliveryError: records sent with `produce()` failed since the last
                flush; the error lists them.
        """
        if self._state is ClientState.CREATED or self._state is ClientState.CLOSED:
            return
        assert self._poller is not None and self._loop is not None
        loop = self._loop
        deadline = None if timeout is None else loop.time() + timeout

        # len(producer) is librdkafka's count of records not yet reported.
        while self._in_flight or self._overflow or len(self._native):
            self._serve_deliveries()
            if not (self._in_flight or self._overflow or len(self._native)):
                break
            now = loop.time()
            if deadline is not None and now >= deadline:
                raise KafkaTimeoutError(
                    f"flush timed out after {timeout}s with "
                    f"{max(len(self._native), self._in_flight + len(self._overflow))}"
                    " records pending"
                )

            # librdkafka sends a lingering batch at once only while a flush() call
            # of its own is running, so a worker thread runs one for a short
            # slice. It returns as soon as nothing is left; the reports it
            # serves join the shared list, which the next round delivers.
            slice_seconds = _FLUSH_SLICE_SECONDS
            if deadline is not None:
                slice_seconds = min(slice_seconds, deadline - now)
            await asyncio.to_thread(self._native.flush, slice_seconds)
        await self._poller.barrier()
        self._raise_forgotten_failures()

    def produce(
        self,
        topic: str,
        value: V | None = None,
        *,
        key: K | None = None,
        headers: HeadersInput | None = None,
        partition: int | None = None,
        timestamp_ms: int | None = None,
    ) -> None:
        """Queue one record without tracking it individually: fire and forget.

        The fastest way to send: no future and no per-record object, so the
        producer keeps pace with librdkafka itself. Delivery failures are not
        lost: `flush()` and `close()` raise `DeliveryError` listing them. Like
        `send_nowait`, it never blocks; when librdkafka's queue is full the record
        waits in order on the Python side; a long loop should `await drain()` now
        and then, which waits only while records are parked.
        """
        if self._state is not _STARTED:
            require_started(self._state, "AsyncProducer")
        # The same fast path as _produce_plain, written out: this call is the one
        # the fastest loops make a million times, and a method call is 5% of it.
        if (
            partition is None
            and timestamp_ms is None
            and headers is None
            and not self._overflow
            and (value is None or (self._values_are_bytes and type(value) is bytes))
            and (key is None or (self._keys_are_bytes and type(key) is bytes))
        ):
            try:
                self._native.produce(
                    topic, value, key, _ANY_PARTITION, self._forget_callback
                )
            except BufferError:
                pass
            except Exception as error:
                raise translate_kafka_error(
                    error, context=f"send to topic {topic!r}"
                ) from None
            else:
                self._sends += 1
                if not self._sends & (_SERVE_EVERY - 1):
                    self._serve_deliveries()
                return

        arguments = self._produce_arguments(
            topic, value, key, headers, partition, timestamp_ms
        )
        self._produce(arguments, None)

    async def drain(self) -> None:
        """Wait until no record waits for room in librdkafka's queue.

        The back-pressure point for `produce()` and `send_nowait()` loops, like
        `asyncio.StreamWriter.drain()`: it returns at once while the queue has
        room, and otherwise waits until the records parked on the Python side
        have entered it (or failed after `queue_full_timeout`).

        ```python
        for event in events:
            producer.produce("events", event)
            await producer.drain()
        ```
        """
        if self._overflow:
            await self._overflow_empty.wait()

    def _raise_forgotten_failures(self) -> None:
        if not self._forgotten_failure_count:
            return
        failures, self._forgotten_failures = self._forgotten_failures, []
        count, self._forgotten_failure_count = self._forgotten_failure_count, 0
        raise DeliveryError(
            f"{count} records sent with produce() were not delivered; "
            f"first: {failures[0]}",
            failures=failures,
            count=count,
        )

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
            raise ConfigurationError(
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
        try:
            await self._call_transactional(
                "commit transaction", self._native.commit_transaction, timeout
            )
        except TransactionError as error:
            if not error.abortable:
                raise
            # librdkafka: an abortable commit failure leaves the transaction open;
            # abort it so that the next transaction() can begin.
            logger.warning(
                "commit of transaction %s failed, aborting: %s",
                self._config["transactional.id"],
                error,
            )
            await self._call_transactional(
                "abort transaction", self._native.abort_transaction, timeout
            )
            raise

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

    def _produce_plain(
        self,
        topic: str,
        value: Any,
        key: Any,
        headers: HeadersInput | None,
        partition: int | None,
        timestamp_ms: int | None,
        target: Any,
    ) -> bool:
        """Queue the common record at once: bytes or None, nothing else set.

        The hot path of `produce()` and `send_nowait()`: positional arguments and
        no dictionary. Returns False when the record needs the general path
        (serialization, headers, a full queue, records already parked).
        """
        if (
            partition is not None
            or timestamp_ms is not None
            or headers is not None
            or self._overflow
            or not (value is None or (self._values_are_bytes and type(value) is bytes))
            or not (key is None or (self._keys_are_bytes and type(key) is bytes))
        ):
            return False

        try:
            self._native.produce(
                topic, value, key, _ANY_PARTITION, target or self._forget_callback
            )
        except BufferError:
            return False
        except Exception as error:
            raise translate_kafka_error(
                error, context=f"send to topic {topic!r}"
            ) from None

        self._note_queued(target)
        return True

    def _produce_arguments(
        self,
        topic: str,
        value: Any,
        key: Any,
        headers: HeadersInput | None,
        partition: int | None,
        timestamp_ms: int | None,
    ) -> ProduceArguments:
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

        return (
            topic,
            value,
            key,
            _ANY_PARTITION if partition is None else partition,
            0 if timestamp_ms is None else timestamp_ms,
            _normalize_headers(headers) if headers else None,
        )

    def _produce(self, arguments: ProduceArguments, target: Any) -> None:
        """Hand one record to librdkafka, or park it in the overflow when full."""
        if self._overflow:
            self._park(arguments, target)
            return

        try:
            self._produce_native(arguments, target)
        except BufferError:
            self._park(arguments, target)
            return
        except Exception as error:
            raise translate_kafka_error(
                error, context=f"send to topic {arguments[0]!r}"
            ) from None

        self._note_queued(target)

    def _note_queued(self, target: Any) -> None:
        """Count a record librdkafka accepted; serve reports every _SERVE_EVERY."""
        if target is not None:
            self._in_flight += 1
        self._sends += 1
        if not self._sends & (_SERVE_EVERY - 1):
            self._serve_deliveries()

    def _serve_deliveries(self) -> None:
        """Serve delivery reports on the loop while it is busy sending."""
        assert self._poller is not None
        self._poller.serve_here()

    def _on_deliveries(self, reports: list[DeliveryReport]) -> None:
        """Resolve a batch of delivery reports on the loop.

        The successful reports of awaited sends, nearly all of them in a busy
        producer, are resolved in one call (compiled when the build had a C
        compiler); the loop below settles the rest.
        """
        rest = resolve_deliveries(reports, _Future)
        tracked = len(reports) - len(rest)
        metadata = make_record_metadata
        for target, error, message in rest:
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

            if target is None:
                self._record_forgotten_failure(result)
            elif type(target) is _Future:
                tracked += 1
                settle_future(target, result, error is not None)
            else:
                tracked += 1
                target.settle(result, error is not None)

        self._in_flight -= tracked
        if self._overflow:
            self._drain_overflow()

    def _record_forgotten_failure(self, error: KafkaUtilsError) -> None:
        """Keep a produce() failure for the next flush; the first 100 in full.

        Only the first failure since the last flush is a warning. A missing topic
        fails every record sent to it, and a line per record would bury the log;
        the others go to debug, and the next flush's `DeliveryError` counts them.
        """
        self._forgotten_failure_count += 1
        if len(self._forgotten_failures) < 100:
            self._forgotten_failures.append(error)
        if self._forgotten_failure_count == 1:
            logger.warning(
                "record sent with produce() not delivered: %s (further failures "
                "until the next flush() are logged at debug level)",
                error,
            )
        else:
            logger.debug("record sent with produce() not delivered: %s", error)

    def _produce_native(self, arguments: ProduceArguments, target: Any) -> None:
        """Call librdkafka's produce, positionally (see ProduceArguments)."""
        topic, value, key, partition, timestamp, headers = arguments
        self._native.produce(
            topic,
            value,
            key,
            partition,
            target or self._forget_callback,
            None,
            timestamp,
            headers,
        )

    def _park(self, arguments: ProduceArguments, target: Any) -> None:
        """Keep a record until librdkafka's queue has room again."""
        assert self._loop is not None
        deadline = time.monotonic() + self._queue_full_timeout
        self._overflow.append((deadline, arguments, target))
        self._overflow_empty.clear()
        if self._poller is not None:
            self._poller.room_wanted = True
        if self._overflow_timer is None:
            self._overflow_timer = self._loop.call_later(
                _OVERFLOW_RETRY_SECONDS, self._drain_overflow
            )

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
                        f"send to topic {arguments[0]!r}: local queue stayed "
                        f"full for {self._queue_full_timeout}s"
                    ),
                )
                continue
            try:
                self._produce_native(arguments, target)
            except BufferError:
                break
            except Exception as error:
                overflow.popleft()
                self._fail_target(
                    target,
                    translate_kafka_error(
                        error, context=f"send to topic {arguments[0]!r}"
                    ),
                )
                continue
            overflow.popleft()
            if target is not None:
                self._in_flight += 1

        if self._overflow_timer is not None:
            self._overflow_timer.cancel()
            self._overflow_timer = None
        if overflow:
            assert self._loop is not None and self._poller is not None
            self._poller.room_wanted = True
            self._overflow_timer = self._loop.call_later(
                _OVERFLOW_RETRY_SECONDS, self._drain_overflow
            )
        else:
            self._overflow_empty.set()

    def _fail_target(self, target: Any, error: KafkaUtilsError) -> None:
        if target is None:
            self._record_forgotten_failure(error)
        else:
            target.settle(error, True)

    def _fail_overflow(self, error: KafkaUtilsError) -> None:
        while self._overflow:
            _, _, target = self._overflow.popleft()
            self._fail_target(target, error)
        self._overflow_empty.set()
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
