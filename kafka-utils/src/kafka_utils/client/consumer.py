"""AsyncConsumer: reads records through librdkafka without blocking the event loop.

A `FetchThread` owns the librdkafka consumer: it makes every blocking call, runs
every other consumer call as a queued command, and hands each batch to the loop in
one call. While records flow and no rebalance callback was given, the loop takes
what librdkafka already holds itself, without waiting (ADR 0008). The loop turns
messages into `ConsumerRecord`s only when the application asks for them
(`getmany` or `async for`), so a slow application holds at most a few batches in
memory.

Offsets follow the "store, then commit" model (librdkafka CONFIGURATION.md:
enable.auto.offset.store): `store(record)` marks a record processed, and stored
offsets are committed in the background every `auto.commit.interval.ms`, on
rebalance and on close. A record that was never stored is never committed.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import Any, Generic

import confluent_kafka
from typing_extensions import TypeVar

from kafka_utils._records import (
    ConsumerRecord,
    TopicPartition,
    append_message_records,
    make_consumer_record,
    message_record,
)
from kafka_utils.client._config import (
    LIBRDKAFKA_LOGGER,
    build_config,
    check_reachable,
    create_native,
)
from kafka_utils.client._fetcher import FetchThread
from kafka_utils.client._lifecycle import (
    ClientLifecycle,
    ClientState,
    require_started,
)
from kafka_utils.client._positions import latest_offsets
from kafka_utils.client._ready import next_ready
from kafka_utils.errors import (
    ClientClosedError,
    ConfigurationError,
    KafkaUtilsError,
    SerializationError,
    translate_kafka_error,
)
from kafka_utils.serialization import BytesSerializer, Serializer
from kafka_utils.settings import KafkaSettings, normalize_options

__all__ = ["AsyncConsumer", "RebalanceCallback"]

logger = logging.getLogger(__name__)

K = TypeVar("K", default=bytes)
V = TypeVar("V", default=bytes)

RebalanceCallback = Callable[[list[TopicPartition]], Awaitable[None]]
"""A coroutine function called with the partitions assigned, revoked or lost."""

_DEFAULTS: dict[str, Any] = {
    "enable.auto.commit": True,
    # Only offsets passed to store() are committed: at-least-once by default.
    "enable.auto.offset.store": False,
    "auto.offset.reset": "earliest",
    "partition.assignment.strategy": "cooperative-sticky",
    # librdkafka waits this long before fetching again once its local queue has
    # reached queued.min.messages (default 1000 ms), which caps a fast reader at a
    # few hundred thousand records/s; the benchmarks measured 1.0M+/s with 10 ms.
    "fetch.queue.backoff.ms": 10,
}

# librdkafka error names that are reported on a message but are not fatal for the
# consumer: it recovers by itself and the application only needs to know.
_TRANSIENT_ERRORS = frozenset(
    {
        "_TRANSPORT",
        "_ALL_BROKERS_DOWN",
        "_RESOLVE",
        "_PARTITION_EOF",
        "_MAX_POLL_EXCEEDED",
    }
)
# Batches handed to the loop and not yet read. Two keep the fetch thread one batch
# ahead of the application; more only keeps more records alive, and every live
# record is walked by each of CPython's garbage collections.
_MAX_BUFFERED_BATCHES = 2

_UNKNOWN_TOPIC_ERRORS = frozenset({"UNKNOWN_TOPIC_OR_PART", "_UNKNOWN_TOPIC"})

_STARTED = ClientState.STARTED


class _Batch:
    """A batch handed over by the fetch thread, read from `position` on.

    Messages before `settled` have had their offsets noted as positions; those from
    `settled` to `position` were returned but are noted lazily (`_settle_positions`),
    so that returning a record costs no dictionary write.
    """

    __slots__ = ("generation", "messages", "position", "settled")

    def __init__(self, generation: int, messages: list[Any]) -> None:
        self.generation = generation
        self.messages = messages
        self.position = 0
        self.settled = 0


class AsyncConsumer(ClientLifecycle, Generic[K, V]):
    """An asyncio Kafka consumer on librdkafka.

    ```python
    async with AsyncConsumer("orders", settings=settings, group_id="billing") as c:
        async for record in c:
            await handle(record)
            c.store(record)
    ```

    Defaults: cooperative-sticky assignment, `auto.offset.reset=earliest`,
    automatic commit of stored offsets. The KIP-848 group protocol is enabled with
    `group_protocol="consumer"`.

    Args:
        *topics: topics to subscribe to; names starting with `^` are regular
            expressions. Leave empty and call `assign()` for manual assignment.
        settings: connection settings; `KafkaSettings()` when omitted.
        group_id: the consumer group. Without one, a private group id is generated
            and nothing is committed.
        key_serializer: decodes keys; bytes are returned as they are by default.
        value_serializer: decodes values; bytes are returned by default.
        on_assigned: coroutine called with newly assigned partitions.
        on_revoked: coroutine called before partitions are taken away; commit or
            flush work for them here.
        on_lost: coroutine called when partitions were lost without a clean
            revoke (the member was fenced); their offsets cannot be committed.
        batch_size: the most messages one librdkafka `consume()` call returns.
        connect_timeout: how long `start()` waits for the cluster's metadata.
        **options: librdkafka consumer options, dotted or snake_case.

    Raises:
        ConfigurationError: an option is unknown or has an invalid value.
    """

    def __init__(
        self,
        *topics: str,
        settings: KafkaSettings | None = None,
        group_id: str | None = None,
        key_serializer: Serializer[K] | None = None,
        value_serializer: Serializer[V] | None = None,
        on_assigned: RebalanceCallback | None = None,
        on_revoked: RebalanceCallback | None = None,
        on_lost: RebalanceCallback | None = None,
        batch_size: int = 500,
        connect_timeout: float = 10.0,
        **options: Any,
    ) -> None:
        if group_id is not None:
            options["group.id"] = group_id
        config = build_config(settings, _DEFAULTS, options)
        if "group.id" not in config:
            # A private group: offsets are meaningless to anybody else.
            config["group.id"] = f"kafka-utils-{uuid.uuid4().hex[:12]}"
            config["enable.auto.commit"] = False
        # KIP-848: the assignor runs on the broker, and librdkafka rejects the
        # classic assignment option unless the caller set it on purpose.
        classic_assignor_set = "partition.assignment.strategy" in normalize_options(
            options
        )
        if config.get("group.protocol") == "consumer" and not classic_assignor_set:
            config.pop("partition.assignment.strategy", None)
        if batch_size < 1:
            raise ConfigurationError("batch_size must be at least 1")

        self._config = config
        self._native: Any = create_native(
            confluent_kafka.Consumer, {**config, "logger": LIBRDKAFKA_LOGGER}
        )
        self._topics = list(topics)
        self._key_serializer: Serializer[Any] = key_serializer or BytesSerializer()
        self._value_serializer: Serializer[Any] = value_serializer or BytesSerializer()
        self._decode_keys = type(self._key_serializer) is not BytesSerializer
        self._decode_values = type(self._value_serializer) is not BytesSerializer
        # Bytes in, bytes out: records are views over the messages (ADR 0007).
        self._plain = not (self._decode_keys or self._decode_values)
        self._on_assigned = on_assigned
        self._on_revoked = on_revoked
        self._on_lost = on_lost
        # Rebalance callbacks run inside librdkafka's consume() on whichever thread
        # called it; the loop thread cannot await the application's coroutine
        # there, so with any of them the fetch thread makes every consume() call.
        self._fetch_on_loop = all(
            callback is None for callback in (on_assigned, on_revoked, on_lost)
        )
        self._loop_thread: int | None = None
        self._batch_size = batch_size
        self._connect_timeout = connect_timeout
        self._state = ClientState.CREATED
        self._loop: asyncio.AbstractEventLoop | None = None
        self._fetcher: FetchThread | None = None
        self._batches: deque[_Batch] = deque()
        self._data_ready: asyncio.Event | None = None
        self._pending_error: BaseException | None = None
        self._generation = 0
        # Partition -> generation: drop its records from batches stamped earlier.
        self._discard: dict[tuple[str, int], int] = {}
        # Partition -> offset of the next record the application has not seen.
        self._positions: dict[tuple[str, int], int] = {}
        # Partition -> offset to store. Written only on the loop; the fetch thread
        # copies it (one atomic dict.copy under the GIL) and stores what changed.
        self._stored: dict[tuple[str, int], int] = {}
        self._pushed: dict[tuple[str, int], int] = {}
        self._assignment: set[TopicPartition] = set()
        # Partition -> first offset dropped from the buffer by pause().
        self._dropped_from: dict[tuple[str, int], int] = {}

    @property
    def group_id(self) -> str:
        """The consumer group id in use (generated when none was given)."""
        return str(self._config["group.id"])

    async def start(self) -> None:
        """Check the cluster is reachable, subscribe, and start fetching.

        Raises:
            BrokerUnavailableError: no broker answered within `connect_timeout`.
        """
        self.require_created()

        loop = asyncio.get_running_loop()
        self._loop = loop
        self._loop_thread = threading.get_ident()
        self._data_ready = asyncio.Event()
        await check_reachable(self._native, self._connect_timeout, self._config)

        self._fetcher = FetchThread(
            self._native,
            loop,
            self._drain_handoff,
            self._on_fetch_error,
            batch_size=self._batch_size,
            max_batches=_MAX_BUFFERED_BATCHES,
            before_consume=self._push_stored_offsets,
            loop_may_fetch=self._fetch_on_loop,
        )
        if self._topics:
            self._native.subscribe(
                self._topics,
                on_assign=self._native_on_assign,
                on_revoke=self._native_on_revoke,
                on_lost=self._native_on_lost,
            )
        self._fetcher.start()
        self._state = ClientState.STARTED
        logger.info(
            "consumer of group %s started on topics %s", self.group_id, self._topics
        )

    async def close(self) -> None:
        """Stop fetching, commit stored offsets, and leave the group.

        Calling `close` twice is safe.
        """
        if self._state in (ClientState.CLOSING, ClientState.CLOSED):
            return
        if self._state is ClientState.CREATED:
            self._state = ClientState.CLOSED
            await asyncio.to_thread(self._native.close)
            return

        self._state = ClientState.CLOSING
        assert self._fetcher is not None and self._data_ready is not None
        # Wake a task waiting in `async for`: it sees the state and stops.
        self._data_ready.set()
        # The fetch thread pushes stored offsets and closes the consumer itself;
        # close() commits them and runs the final revoke callback there.
        self._fetcher.stop()
        await asyncio.shield(self._fetcher.finished)
        self._batches.clear()
        self._state = ClientState.CLOSED
        logger.info("consumer of group %s closed", self.group_id)

    async def assign(
        self,
        partitions: Iterable[TopicPartition],
        offsets: Mapping[TopicPartition, int] | None = None,
    ) -> None:
        """Read the given partitions without group management.

        Args:
            partitions: the partitions to read.
            offsets: where to start in each; the committed offset, or
                `auto.offset.reset`, for partitions not listed.
        """
        targets = list(partitions)
        offsets = offsets or {}
        native_partitions = [
            confluent_kafka.TopicPartition(tp.topic, tp.partition, offsets[tp])
            if tp in offsets
            else confluent_kafka.TopicPartition(tp.topic, tp.partition)
            for tp in targets
        ]
        await self._call(lambda: self._native.assign(native_partitions), "assign")
        self._assignment = set(targets)

    async def getmany(
        self, max_records: int = 500, timeout: float = 1.0
    ) -> list[ConsumerRecord[K, V]]:
        """Return up to `max_records` records, waiting at most `timeout` seconds.

        Returns an empty list when nothing arrived in time.

        Raises:
            SerializationError: a key or value could not be decoded; the error names
                its topic, partition and offset, and the records before it were
                returned by the previous call.
            UnknownTopicError: a subscribed topic does not exist.
        """
        require_started(self._state, "AsyncConsumer")
        idle = not self._batches and self._pending_error is None
        if idle and not self._fetch_here():
            await self._wait_for_data(timeout)
        return self._take(max_records)

    def __aiter__(self) -> AsyncIterator[ConsumerRecord[K, V]]:
        return self

    def __anext__(self) -> Awaitable[ConsumerRecord[K, V]]:
        """The next record, waiting as long as it takes.

        Iteration ends when the consumer is closed.
        """
        # The hot path: a plain record already buffered comes back in an awaitable
        # that is already done, with no coroutine per record (see _ready). The
        # last record of a batch, and any error, take the general path.
        batches = self._batches
        if batches and self._plain and self._state is _STARTED:
            awaitable = next_ready(batches[0])
            if awaitable is not None:
                return awaitable
        return self._next_record()

    async def _next_record(self) -> ConsumerRecord[K, V]:
        """`__anext__` when the record must be waited for, decoded or checked."""
        while True:
            if self._state is not ClientState.STARTED:
                raise StopAsyncIteration
            batches = self._batches
            if batches:
                batch = batches[0]
                messages = batch.messages
                position = batch.position
                message = messages[position]
                batch.position = position + 1
                if position + 1 == len(messages):
                    self._settle_positions(batch)
                    batches.popleft()
                    assert self._fetcher is not None
                    self._fetcher.release()
                if message.error() is None:
                    if self._plain:
                        return message_record(message)
                    try:
                        return self._convert(message)
                    except SerializationError:
                        raise self._located_error(message) from None
                if not self._is_transient(message):
                    raise self._message_error(message)
            elif self._pending_error is not None:
                self._raise_pending_error()
            elif not self._fetch_here():
                await self._wait_for_data(None)

    def store(self, record: ConsumerRecord[Any, Any]) -> None:
        """Mark `record` processed: its offset + 1 is committed with the next commit.

        Cheap enough to call for every record: the offset is kept on the loop and
        handed to librdkafka by the fetch thread before its next fetch. Storing a
        record of a partition revoked in the meantime has no effect: the new
        owner reads it again (at-least-once).
        """
        self._stored[(record.topic, record.partition)] = record.offset + 1

    async def commit(self, offsets: Mapping[TopicPartition, int] | None = None) -> None:
        """Commit offsets now and wait for the broker to confirm.

        Args:
            offsets: next offset to read per partition; the stored offsets when
                omitted.
        """
        if offsets is None:
            await self._call(self._commit_stored, f"commit for group {self.group_id}")
            return

        native_offsets = [
            confluent_kafka.TopicPartition(tp.topic, tp.partition, offset)
            for tp, offset in offsets.items()
        ]
        await self._call(
            lambda: self._native.commit(offsets=native_offsets, asynchronous=False),
            f"commit for group {self.group_id}",
        )

    async def seek(self, partition: TopicPartition, offset: int) -> None:
        """Continue reading `partition` at `offset`; buffered records are dropped."""
        native_partition = confluent_kafka.TopicPartition(
            partition.topic, partition.partition, offset
        )
        await self._call(
            lambda: self._native.seek(native_partition),
            f"seek {partition.topic} [{partition.partition}] to {offset}",
            discard=[partition],
        )
        self._settle_head_positions()
        self._positions[(partition.topic, partition.partition)] = offset

    async def seek_to_timestamp(
        self, timestamp_ms: int, partitions: Iterable[TopicPartition] | None = None
    ) -> dict[TopicPartition, int]:
        """Seek to the first record at or after `timestamp_ms` in each partition.

        Partitions with no such record are moved to their end.

        Returns:
            The offset each partition now reads from (-1 for the end).
        """
        targets = sorted(partitions if partitions is not None else self.assignment())
        queries = [
            confluent_kafka.TopicPartition(tp.topic, tp.partition, timestamp_ms)
            for tp in targets
        ]
        timeout = self._connect_timeout
        found = await self._call(
            lambda: self._native.offsets_for_times(queries, timeout),
            f"offsets for timestamp {timestamp_ms}",
        )
        result: dict[TopicPartition, int] = {}
        for native_partition in found:
            tp = TopicPartition(native_partition.topic, native_partition.partition)
            offset = native_partition.offset
            await self.seek(tp, offset if offset >= 0 else confluent_kafka.OFFSET_END)
            result[tp] = offset
        return result

    async def pause(self, *partitions: TopicPartition) -> None:
        """Stop returning records of `partitions` until `resume`.

        Records already fetched but not yet returned are dropped and read again
        after `resume`: nothing is skipped and nothing is returned twice.
        """
        keys = [(tp.topic, tp.partition) for tp in partitions]
        for key in keys:
            self._dropped_from.pop(key, None)
        native_partitions = [confluent_kafka.TopicPartition(*key) for key in keys]
        await self._call(
            lambda: self._native.pause(native_partitions), "pause", discard=partitions
        )

        # The command's answer arrives after every batch fetched before the pause,
        # so _dropped_from now knows the first record dropped per partition.
        self._settle_head_positions()
        rewind = []
        for key in keys:
            dropped_from = self._dropped_from.pop(key, None)
            target = self._positions.get(key, dropped_from)
            if target is not None:
                rewind.append(confluent_kafka.TopicPartition(*key, target))
        for native_partition in rewind:
            await self._call(
                functools.partial(self._native.seek, native_partition),
                f"rewind {native_partition.topic} [{native_partition.partition}]",
            )

    async def resume(self, *partitions: TopicPartition) -> None:
        """Return records of `partitions` again."""
        native_partitions = [
            confluent_kafka.TopicPartition(tp.topic, tp.partition) for tp in partitions
        ]
        await self._call(lambda: self._native.resume(native_partitions), "resume")

    def assignment(self) -> set[TopicPartition]:
        """The partitions currently assigned to this consumer."""
        return set(self._assignment)

    async def position(self, partition: TopicPartition) -> int | None:
        """The offset of the next record `getmany` or iteration returns, if known."""
        self._settle_head_positions()
        known = self._positions.get((partition.topic, partition.partition))
        if known is not None:
            return known

        query = [confluent_kafka.TopicPartition(partition.topic, partition.partition)]
        answer = await self._call(lambda: self._native.position(query), "position")
        offset: int = answer[0].offset
        return offset if offset >= 0 else None

    async def committed(
        self, partitions: Iterable[TopicPartition], timeout: float = 10.0
    ) -> dict[TopicPartition, int | None]:
        """The group's committed offsets (None where nothing is committed)."""
        queries = [
            confluent_kafka.TopicPartition(tp.topic, tp.partition) for tp in partitions
        ]
        answer = await self._call(
            lambda: self._native.committed(queries, timeout),
            f"committed offsets of group {self.group_id}",
        )
        return {
            TopicPartition(tp.topic, tp.partition): tp.offset
            if tp.offset >= 0
            else None
            for tp in answer
        }

    async def watermarks(
        self, partition: TopicPartition, timeout: float = 10.0
    ) -> tuple[int, int]:
        """The low and high watermark offsets of `partition`, from the broker."""
        query = confluent_kafka.TopicPartition(partition.topic, partition.partition)
        low, high = await self._call(
            lambda: self._native.get_watermark_offsets(query, timeout),
            f"watermarks of {partition.topic} [{partition.partition}]",
        )
        return int(low), int(high)

    async def group_metadata(self) -> Any:
        """The group metadata that `send_offsets_to_transaction` needs (KIP-447)."""
        return await self._call(
            self._native.consumer_group_metadata, f"metadata of group {self.group_id}"
        )

    async def _call(
        self,
        action: Callable[[], Any],
        context: str,
        *,
        discard: Iterable[TopicPartition] = (),
    ) -> Any:
        """Run `action` on the fetch thread, which owns the librdkafka consumer.

        Buffered records of the `discard` partitions are dropped, and so are those
        fetched before the action ran.
        """
        if self._state is not ClientState.CLOSING:
            require_started(self._state, "AsyncConsumer")
        assert self._fetcher is not None
        self._generation += 1
        generation = self._generation
        keys = {(tp.topic, tp.partition) for tp in discard}
        for key in keys:
            self._discard[key] = generation
        self._drop_buffered(keys)

        try:
            return await self._fetcher.submit(action, generation)
        except confluent_kafka.KafkaException as error:
            raise translate_kafka_error(error, context=context) from None
        except asyncio.CancelledError:
            if self._state is ClientState.STARTED:
                raise
            raise ClientClosedError(f"{context}: the consumer was closed") from None

    def _commit_stored(self) -> None:
        """Push and commit the stored offsets (runs on the fetch thread)."""
        self._push_stored_offsets()
        try:
            self._native.commit(asynchronous=False)
        except confluent_kafka.KafkaException as error:
            if error.args and error.args[0].name() == "_NO_OFFSET":
                return
            raise

    def _push_stored_offsets(self) -> None:
        """Hand offsets stored since the last push to librdkafka (fetch thread)."""
        if self._stored == self._pushed:
            return

        snapshot = self._stored.copy()
        changed = [
            confluent_kafka.TopicPartition(topic, partition, offset)
            for (topic, partition), offset in snapshot.items()
            if self._pushed.get((topic, partition)) != offset
        ]
        self._pushed = snapshot
        if not changed:
            return
        try:
            self._native.store_offsets(offsets=changed)
        except confluent_kafka.KafkaException as error:
            # A partition revoked since: its offsets are not ours to commit.
            logger.debug("group %s: offsets not stored: %s", self.group_id, error)

    def _take(self, max_records: int) -> list[ConsumerRecord[K, V]]:
        """Convert up to `max_records` buffered messages, oldest first."""
        if self._pending_error is not None:
            self._raise_pending_error()
        records: list[ConsumerRecord[K, V]] = []
        append = records.append
        batches = self._batches
        convert = self._convert
        plain = self._plain

        while batches and len(records) < max_records:
            batch = batches[0]
            messages = batch.messages
            start = batch.position
            end = min(len(messages), start + max_records - len(records))
            index = start
            while index < end:
                if plain:
                    # The hot path: bytes in, bytes out, no decoding.
                    index = append_message_records(messages, index, end, records)
                    if index == end:
                        break
                message = messages[index]
                index += 1
                if message.error() is not None:
                    if self._is_transient(message):
                        continue
                    batch.position = index
                    self._finish_batch_if_read(batch)
                    error = self._message_error(message)
                    if records:
                        # Hand out what came before; the error comes next call.
                        self._pending_error = error
                        return records
                    raise error
                try:
                    append(convert(message))
                except SerializationError:
                    batch.position = index
                    self._finish_batch_if_read(batch)
                    if records:
                        self._pending_error = self._located_error(message)
                        return records
                    raise self._located_error(message) from None
            batch.position = end
            self._finish_batch_if_read(batch)

        return records

    def _settle_head_positions(self) -> None:
        """Note the positions of records returned from the batch being read."""
        if self._batches:
            self._settle_positions(self._batches[0])

    def _settle_positions(self, batch: _Batch) -> None:
        """Note the next offset per partition of the records returned from `batch`."""
        settled = batch.settled
        batch.settled = batch.position
        if batch.position > settled:
            self._positions.update(
                latest_offsets(
                    batch.messages, settled, batch.position, len(self._assignment)
                )
            )

    def _finish_batch_if_read(self, batch: _Batch) -> None:
        self._settle_positions(batch)
        if (
            batch.position >= len(batch.messages)
            and self._batches
            and self._batches[0] is batch
        ):
            self._batches.popleft()
            assert self._fetcher is not None
            self._fetcher.release()

    def _convert(self, message: Any) -> ConsumerRecord[K, V]:
        """Build a record with its key and value decoded (the non-plain path)."""
        key = message.key()
        value = message.value()
        if self._decode_keys and key is not None:
            key = self._key_serializer.deserialize(key)
        if self._decode_values and value is not None:
            value = self._value_serializer.deserialize(value)
        headers = message.headers()
        return make_consumer_record(
            message.topic(),
            message.partition(),
            message.offset(),
            key,
            value,
            tuple(headers) if headers else (),
            message.timestamp()[1],
        )

    def _located_error(self, message: Any) -> SerializationError:
        """Re-run the failing decode to build an error naming the record's place."""
        try:
            self._convert(message)
        except SerializationError as error:
            reason = str(error)
        else:
            reason = "decoding failed"
        return SerializationError(
            f"cannot decode record at {message.topic()} [{message.partition()}] "
            f"offset {message.offset()}: {reason}",
            topic=message.topic(),
            partition=message.partition(),
            offset=message.offset(),
        )

    def _message_error(self, message: Any) -> KafkaUtilsError:
        error = message.error()
        topic = message.topic()
        return translate_kafka_error(error, context=f"consume from topic {topic!r}")

    def _is_transient(self, message: Any) -> bool:
        """Log and skip an error librdkafka recovers from by itself."""
        error = message.error()
        if error.name() in _TRANSIENT_ERRORS and not error.fatal():
            logger.warning(
                "consumer of group %s: %s (librdkafka retries)",
                self.group_id,
                error.str(),
            )
            return True
        return False

    def _raise_pending_error(self) -> None:
        error, self._pending_error = self._pending_error, None
        assert error is not None
        raise error

    async def _wait_for_data(self, timeout: float | None) -> None:
        assert self._data_ready is not None
        self._data_ready.clear()
        if timeout is None:
            await self._data_ready.wait()
            return
        # asyncio.timeout rather than wait_for: no task per wait (Python 3.11).
        try:
            async with asyncio.timeout(timeout):
                await self._data_ready.wait()
        except TimeoutError:
            return

    def _fetch_here(self) -> bool:
        """Fetch on the loop thread when that is allowed; True if records came.

        A failing `consume()` counts as a result: its error is pending.
        """
        if not self._fetch_on_loop:
            return False
        assert self._fetcher is not None
        try:
            fetched = self._fetcher.fetch_here()
        except Exception as error:
            self._on_fetch_error(error)
            return True
        if fetched:
            self._drain_handoff()
        return bool(self._batches)

    def _drain_handoff(self) -> None:
        """Take every batch fetched so far, in fetch order (runs on the loop)."""
        assert self._fetcher is not None
        handoff = self._fetcher.handoff
        while handoff:
            generation, messages = handoff.popleft()
            self._accept_batch(generation, messages)

    def _accept_batch(self, generation: int, messages: list[Any]) -> None:
        """Buffer a fetched batch, minus records a seek or pause made stale."""
        assert self._fetcher is not None and self._data_ready is not None
        if self._state is not ClientState.STARTED:
            self._fetcher.release()
            return

        if self._discard:
            discard = self._discard
            kept = []
            for message in messages:
                key = (message.topic(), message.partition())
                if discard.get(key, -1) <= generation:
                    kept.append(message)
                else:
                    self._note_dropped(key, message)
            messages = kept
            for key in [key for key, stamp in discard.items() if stamp <= generation]:
                del discard[key]
            if not messages:
                self._fetcher.release()
                return

        self._batches.append(_Batch(generation, messages))
        self._data_ready.set()

    def _on_fetch_error(self, error: BaseException) -> None:
        """`consume()` itself raised: wake the reader and let it raise."""
        assert self._data_ready is not None
        if isinstance(error, confluent_kafka.KafkaException):
            error = translate_kafka_error(
                error, context=f"consumer of group {self.group_id}"
            )
        self._pending_error = error
        self._data_ready.set()

    def _drop_buffered(self, keys: set[tuple[str, int]]) -> None:
        """Remove buffered, not yet returned messages of the given partitions."""
        if not keys:
            return
        assert self._fetcher is not None
        self._settle_head_positions()
        kept: deque[_Batch] = deque()
        for batch in self._batches:
            remaining = []
            for message in batch.messages[batch.position :]:
                key = (message.topic(), message.partition())
                if key in keys:
                    self._note_dropped(key, message)
                else:
                    remaining.append(message)
            if remaining:
                replacement = _Batch(batch.generation, remaining)
                kept.append(replacement)
            else:
                self._fetcher.release()
        self._batches = kept

    def _note_dropped(self, key: tuple[str, int], message: Any) -> None:
        """Remember the first offset dropped per partition, to rewind to it."""
        if message.error() is not None:
            return
        offset = message.offset()
        known = self._dropped_from.get(key)
        if known is None or offset < known:
            self._dropped_from[key] = offset

    # Rebalance callbacks arrive inside librdkafka's consume(): on the fetch thread,
    # where the coroutine runs on the loop while the thread waits, or, when the
    # loop fetched and no application callback was given, on the loop itself.

    def _native_on_assign(self, native: Any, partitions: list[Any]) -> None:
        self._run_rebalance("assigned", partitions, self._on_assigned)

    def _native_on_revoke(self, native: Any, partitions: list[Any]) -> None:
        self._run_rebalance("revoked", partitions, self._on_revoked)

    def _native_on_lost(self, native: Any, partitions: list[Any]) -> None:
        self._run_rebalance("lost", partitions, self._on_lost)

    def _run_rebalance(
        self, event: str, partitions: list[Any], callback: RebalanceCallback | None
    ) -> None:
        """Run the rebalance on the loop while this (fetch) thread serves commands."""
        assert self._loop is not None and self._fetcher is not None
        topic_partitions = [TopicPartition(p.topic, p.partition) for p in partitions]
        logger.info(
            "group %s: partitions %s: %s",
            self.group_id,
            event,
            ", ".join(f"{tp.topic}[{tp.partition}]" for tp in topic_partitions)
            or "none",
        )
        if threading.get_ident() == self._loop_thread:
            # The loop fetched (fetch_here): there is no application callback to
            # await, so the whole rebalance runs here, synchronously.
            assert callback is None
            self._update_assignment(event, topic_partitions)
            to_commit = self._revoked_offsets(event, topic_partitions)
            if to_commit and self._config.get("enable.auto.commit"):
                self._commit_on_revoke(to_commit)
            return
        if self._loop.is_closed():
            return

        future = asyncio.run_coroutine_threadsafe(
            self._rebalance_on_loop(event, topic_partitions, callback), self._loop
        )
        self._fetcher.serve_until(future)
        if not future.done():
            return
        try:
            to_commit = future.result()
        except Exception:
            logger.exception(
                "group %s: on_%s callback failed for %s",
                self.group_id,
                event,
                topic_partitions,
            )
            return

        if to_commit and self._config.get("enable.auto.commit"):
            self._commit_on_revoke(to_commit)

    async def _rebalance_on_loop(
        self,
        event: str,
        partitions: list[TopicPartition],
        callback: RebalanceCallback | None,
    ) -> list[Any]:
        """Update the loop-side state, call the user's callback.

        Returns the stored offsets of revoked partitions, to be committed before
        they are handed to another member.
        """
        self._update_assignment(event, partitions)
        if callback is not None:
            await callback(partitions)
        return self._revoked_offsets(event, partitions)

    def _update_assignment(self, event: str, partitions: list[TopicPartition]) -> None:
        """Note the new assignment; forget what was buffered for lost partitions."""
        if event == "assigned":
            self._assignment.update(partitions)
            return

        keys = {(tp.topic, tp.partition) for tp in partitions}
        self._assignment.difference_update(partitions)
        # Batches fetched before the rebalance may still wait in the hand-off.
        self._drain_handoff()
        self._drop_buffered(keys)
        for key in keys:
            self._positions.pop(key, None)
            self._discard.pop(key, None)
            self._dropped_from.pop(key, None)

    def _revoked_offsets(
        self, event: str, partitions: list[TopicPartition]
    ) -> list[Any]:
        """Forget stored offsets of partitions taken away; return those to commit.

        Only cleanly revoked partitions are committed; lost ones are not ours.
        """
        to_commit: list[Any] = []
        if event == "assigned":
            return to_commit
        for tp in partitions:
            offset = self._stored.pop((tp.topic, tp.partition), None)
            if offset is not None and event == "revoked":
                to_commit.append(
                    confluent_kafka.TopicPartition(tp.topic, tp.partition, offset)
                )
        return to_commit

    def _commit_on_revoke(self, offsets: list[Any]) -> None:
        """Commit revoked partitions' stored offsets (fetch thread, in the callback)."""
        for native_partition in offsets:
            self._pushed.pop((native_partition.topic, native_partition.partition), None)
        try:
            self._native.commit(offsets=offsets, asynchronous=False)
        except confluent_kafka.KafkaException as error:
            logger.warning(
                "group %s: commit of revoked partitions failed, their records "
                "will be read again: %s",
                self.group_id,
                error,
            )
