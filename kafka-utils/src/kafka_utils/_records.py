"""Immutable value types that cross the public API: records, positions and lag."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import FrozenInstanceError, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

__all__ = [
    "ConsumerRecord",
    "GroupInfo",
    "GroupListing",
    "GroupMember",
    "Headers",
    "OffsetReset",
    "PartitionInfo",
    "PartitionLag",
    "RecordMetadata",
    "ResetTarget",
    "Shift",
    "TopicInfo",
    "TopicPartition",
]

K = TypeVar("K")
V = TypeVar("V")

Headers = tuple[tuple[str, bytes | None], ...]
"""Record headers in wire order; a name may repeat, and a value may be None."""


@dataclass(frozen=True, slots=True, order=True)
class TopicPartition:
    """A partition of a topic."""

    topic: str
    partition: int


@dataclass(frozen=True, slots=True)
class RecordMetadata:
    """Where the broker stored a record that `send` delivered.

    Attributes:
        topic: the topic written to.
        partition: the partition the record landed in.
        offset: its offset in that partition.
        timestamp_ms: the record's timestamp in milliseconds since the epoch, as
            stored (CreateTime set by the producer, or LogAppendTime by the broker).
    """

    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None


class ConsumerRecord(Generic[K, V]):
    """A record read by `AsyncConsumer`, with its key and value deserialized.

    Records are immutable, compare and hash by their fields, and pickle as plain
    values. `ConsumerRecord(topic, partition, offset, key, value, headers,
    timestamp_ms)` builds one that holds its fields, for tests and for handlers
    that take records. The consumer hands out views over librdkafka's messages
    instead, which read each field only when asked: on the consume path, building
    seven fields per record cost more than everything else the consumer does
    (see docs/adr/0005-python-side-cost-per-record.md).

    Attributes:
        topic: the topic it was read from.
        partition: its partition.
        offset: its offset in the partition.
        key: the deserialized key, or None when the record has none.
        value: the deserialized value, or None for a tombstone.
        headers: `(name, value)` pairs in wire order; names may repeat.
        timestamp_ms: the record timestamp in milliseconds since the epoch.
    """

    __slots__ = ()
    __match_args__ = (
        "topic",
        "partition",
        "offset",
        "key",
        "value",
        "headers",
        "timestamp_ms",
    )

    if TYPE_CHECKING:

        @property
        def topic(self) -> str: ...
        @property
        def partition(self) -> int: ...
        @property
        def offset(self) -> int: ...
        @property
        def key(self) -> K | None: ...
        @property
        def value(self) -> V | None: ...
        @property
        def headers(self) -> Headers: ...
        @property
        def timestamp_ms(self) -> int | None: ...

    def __new__(
        cls,
        topic: str,
        partition: int,
        offset: int,
        key: K | None,
        value: V | None,
        headers: Headers,
        timestamp_ms: int | None,
    ) -> ConsumerRecord[K, V]:
        return make_consumer_record(
            topic, partition, offset, key, value, tuple(headers), timestamp_ms
        )

    @property
    def topic_partition(self) -> TopicPartition:
        """The partition this record belongs to."""
        return TopicPartition(self.topic, self.partition)

    def _fields(self) -> tuple[Any, ...]:
        return (
            self.topic,
            self.partition,
            self.offset,
            self.key,
            self.value,
            self.headers,
            self.timestamp_ms,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ConsumerRecord):
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{name}={field!r}"
            for name, field in zip(self.__match_args__, self._fields(), strict=True)
        )
        return f"ConsumerRecord({fields})"

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (ConsumerRecord, self._fields())

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")


class _StoredRecord(ConsumerRecord[Any, Any]):
    """A `ConsumerRecord` that holds its fields: built by hand or decoded."""

    __slots__ = ConsumerRecord.__match_args__


class _MessageRecord(ConsumerRecord[Any, Any]):
    """A `ConsumerRecord` over librdkafka's message, read field by field.

    The message is a confluent-kafka `Message` (or anything with its accessors);
    keys and values are its bytes, undecoded.
    """

    __slots__ = ("_message",)
    _message: Any

    @property
    def topic(self) -> str:
        topic: str = self._message.topic()
        return topic

    @property
    def partition(self) -> int:
        partition: int = self._message.partition()
        return partition

    @property
    def offset(self) -> int:
        offset: int = self._message.offset()
        return offset

    @property
    def key(self) -> bytes | None:
        key: bytes | None = self._message.key()
        return key

    @property
    def value(self) -> bytes | None:
        value: bytes | None = self._message.value()
        return value

    @property
    def headers(self) -> Headers:
        headers = self._message.headers()
        return tuple(headers) if headers else ()

    @property
    def timestamp_ms(self) -> int | None:
        timestamp: int = self._message.timestamp()[1]
        return timestamp


@dataclass(frozen=True, slots=True)
class PartitionLag:
    """How far a consumer group trails the end of one partition.

    Attributes:
        topic: the topic.
        partition: the partition.
        committed_offset: the group's committed offset, or None when the group has
            committed nothing for this partition.
        high_watermark: the offset the next produced record will get.
        lag: records between the committed offset and the high watermark; when
            nothing is committed, every record from the low watermark counts.
    """

    topic: str
    partition: int
    committed_offset: int | None
    high_watermark: int
    lag: int


@dataclass(frozen=True, slots=True)
class PartitionInfo:
    """Placement of one partition: its leader, replicas and in-sync replicas."""

    partition: int
    leader: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class TopicInfo:
    """A topic as described by `AsyncAdmin.describe_topic`."""

    name: str
    partitions: tuple[PartitionInfo, ...]
    configs: dict[str, Any]

    @property
    def replication_factor(self) -> int:
        """The number of replicas of the first partition."""
        return len(self.partitions[0].replicas) if self.partitions else 0


@dataclass(frozen=True, slots=True)
class GroupListing:
    """A consumer group as listed by `AsyncAdmin.list_groups`.

    Attributes:
        group_id: the group id.
        state: the group state as Kafka names it: `STABLE`, `EMPTY`,
            `PREPARING_REBALANCING`, `COMPLETING_REBALANCING`, `DEAD` or `UNKNOWN`.
        type: the rebalance protocol: `CLASSIC`, `CONSUMER` (KIP-848) or `UNKNOWN`.
    """

    group_id: str
    state: str
    type: str


@dataclass(frozen=True, slots=True)
class GroupMember:
    """One member of a consumer group and the partitions assigned to it."""

    member_id: str
    client_id: str
    host: str
    group_instance_id: str | None
    assignment: tuple[TopicPartition, ...]


@dataclass(frozen=True, slots=True)
class GroupInfo:
    """A consumer group as described by `AsyncAdmin.describe_group`.

    Attributes:
        group_id: the group id.
        state: the group state, as in `GroupListing.state`.
        type: the rebalance protocol, as in `GroupListing.type`.
        assignor: the partition assignor the members agreed on (`range`,
            `cooperative-sticky`, ...), empty when the group has no members.
        members: the current members, sorted by member id.
        coordinator: the id of the broker coordinating the group, or None.
    """

    group_id: str
    state: str
    type: str
    assignor: str
    members: tuple[GroupMember, ...]
    coordinator: int | None


@dataclass(frozen=True, slots=True)
class Shift:
    """An offset-reset target: move the committed offset by `n` records.

    Negative values go back (re-read), positive values skip ahead; the result is
    clamped to the partition's earliest and latest offsets.
    """

    n: int


ResetTarget = Literal["earliest", "latest"] | int | datetime | Shift
"""Where `AsyncAdmin.reset_offsets` moves a group: `"earliest"`, `"latest"`, an
offset, a point in time (the first record at or after it) or a `Shift`."""


@dataclass(frozen=True, slots=True)
class OffsetReset:
    """One row of an offset-reset plan: where a partition's group offset goes.

    Attributes:
        topic: the topic.
        partition: the partition.
        current_offset: the group's committed offset, or None when nothing is
            committed for this partition.
        new_offset: the offset the group will read next once the plan is applied.
    """

    topic: str
    partition: int
    current_offset: int | None
    new_offset: int


# Fast constructors for the records built once per message.
#
# A frozen dataclass's generated __init__ assigns every field through
# object.__setattr__, which costs about three times what writing the slots directly
# does. These build the very same instances (equal, hashable, immutable, same
# repr) by setting the slots through their descriptors.

_new_instance = object.__new__
_set_message = _MessageRecord.__dict__["_message"].__set__
_set_topic = _StoredRecord.__dict__["topic"].__set__
_set_partition = _StoredRecord.__dict__["partition"].__set__
_set_offset = _StoredRecord.__dict__["offset"].__set__
_set_key = _StoredRecord.__dict__["key"].__set__
_set_value = _StoredRecord.__dict__["value"].__set__
_set_headers = _StoredRecord.__dict__["headers"].__set__
_set_timestamp = _StoredRecord.__dict__["timestamp_ms"].__set__


def make_consumer_record(
    topic: str,
    partition: int,
    offset: int,
    key: Any,
    value: Any,
    headers: Headers,
    timestamp_ms: int | None,
) -> ConsumerRecord[Any, Any]:
    """Build a `ConsumerRecord` that holds its fields, without `__init__` checks."""
    record: ConsumerRecord[Any, Any] = _new_instance(_StoredRecord)
    _set_topic(record, topic)
    _set_partition(record, partition)
    _set_offset(record, offset)
    _set_key(record, key)
    _set_value(record, value)
    _set_headers(record, headers)
    _set_timestamp(record, timestamp_ms)
    return record


def python_message_record(message: Any) -> ConsumerRecord[Any, Any]:
    """A `ConsumerRecord` over one librdkafka message, with undecoded key and value."""
    record: ConsumerRecord[Any, Any] = _new_instance(_MessageRecord)
    _set_message(record, message)
    return record


def python_append_message_records(
    messages: list[Any], start: int, end: int, records: list[Any]
) -> int:
    """Append a record over each of `messages[start:end]` to `records`.

    Stops at the first message that carries an error and returns its index, or
    returns `end` when every message became a record.
    """
    append = records.append
    for index in range(start, end):
        message = messages[index]
        if message.error() is not None:
            return index

        record = _new_instance(_MessageRecord)
        _set_message(record, message)
        append(record)
    return end


# The compiled view (kafka_utils/_speedups.c) when the build had a C compiler: the
# same fields and behaviour as _MessageRecord, built without a Python frame per
# record and not tracked by the cyclic garbage collector (ADR 0008).
message_record: Callable[[Any], ConsumerRecord[Any, Any]]
append_message_records: Callable[[list[Any], int, int, list[Any]], int]
try:
    from kafka_utils import _speedups
except ImportError:  # built without a C compiler: the Python view serves
    COMPILED_VIEWS = False
    message_record = python_message_record
    append_message_records = python_append_message_records
else:
    COMPILED_VIEWS = True
    _speedups.bind(ConsumerRecord)
    message_record = _speedups.view
    append_message_records = _speedups.append_views


_set_metadata_topic = RecordMetadata.__dict__["topic"].__set__
_set_metadata_partition = RecordMetadata.__dict__["partition"].__set__
_set_metadata_offset = RecordMetadata.__dict__["offset"].__set__
_set_metadata_timestamp = RecordMetadata.__dict__["timestamp_ms"].__set__


def make_record_metadata(
    topic: str, partition: int, offset: int, timestamp_ms: int | None
) -> RecordMetadata:
    """Build a `RecordMetadata` without the dataclass __init__ (see above)."""
    metadata: RecordMetadata = _new_instance(RecordMetadata)
    _set_metadata_topic(metadata, topic)
    _set_metadata_partition(metadata, partition)
    _set_metadata_offset(metadata, offset)
    _set_metadata_timestamp(metadata, timestamp_ms)
    return metadata
