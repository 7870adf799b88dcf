from __future__ import annotations

import dataclasses
import pickle

import pytest

from kafka_utils import ConsumerRecord, RecordMetadata, TopicPartition
from kafka_utils._records import (
    make_consumer_record,
    make_record_metadata,
    message_record,
)
from kafka_utils.client._convert import append_plain_records


class FakeMessage:
    """The part of confluent-kafka's Message that the conversion reads."""

    def __init__(self, offset: int, headers: list[tuple[str, bytes]] | None) -> None:
        self._offset = offset
        self._headers = headers

    def error(self) -> None:
        return None

    def topic(self) -> str:
        return "orders"

    def partition(self) -> int:
        return 2

    def offset(self) -> int:
        return self._offset

    def key(self) -> bytes:
        return b"k"

    def value(self) -> bytes:
        return b"v%d" % self._offset

    def headers(self) -> list[tuple[str, bytes]] | None:
        return self._headers

    def timestamp(self) -> tuple[int, int]:
        return (1, 1_700_000_000_000)


class FailedMessage(FakeMessage):
    def error(self) -> object:  # type: ignore[override]
        return object()


def test_fast_consumer_records_equal_normally_built_ones() -> None:
    fast = make_consumer_record("t", 1, 5, b"k", b"v", (("h", b"1"),), 42)
    normal = ConsumerRecord("t", 1, 5, b"k", b"v", (("h", b"1"),), 42)

    assert fast == normal
    assert hash(fast) == hash(normal)
    assert repr(fast) == repr(normal)
    assert fast.topic_partition == TopicPartition("t", 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.offset = 6  # type: ignore[misc]


def test_a_record_over_a_message_equals_one_holding_the_same_fields() -> None:
    view = message_record(FakeMessage(7, [("h", b"1")]))
    stored = ConsumerRecord(
        "orders", 2, 7, b"k", b"v7", (("h", b"1"),), 1_700_000_000_000
    )

    assert isinstance(view, ConsumerRecord)
    assert view == stored and stored == view
    assert hash(view) == hash(stored)
    assert repr(view) == repr(stored)
    assert view.topic_partition == TopicPartition("orders", 2)
    assert view != message_record(FakeMessage(8, [("h", b"1")]))


def test_a_record_over_a_message_is_read_only() -> None:
    view = message_record(FakeMessage(7, None))

    with pytest.raises(dataclasses.FrozenInstanceError):
        view.value = b"other"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del view.offset
    assert view.value == b"v7"
    assert view.headers == ()


def test_records_pickle_as_plain_values() -> None:
    view = message_record(FakeMessage(7, [("h", b"1")]))

    restored = pickle.loads(pickle.dumps(view))

    assert restored == view
    assert restored.headers == (("h", b"1"),)


def test_records_match_by_field_position() -> None:
    record: ConsumerRecord[bytes, bytes] = ConsumerRecord(
        "orders", 2, 7, None, b"v", (), None
    )

    match record:
        case ConsumerRecord("orders", partition, offset):
            assert (partition, offset) == (2, 7)
        case _:
            pytest.fail("the record did not match by position")


def test_fast_record_metadata_equals_a_normally_built_one() -> None:
    fast = make_record_metadata("t", 0, 7, None)

    assert fast == RecordMetadata("t", 0, 7, None)
    assert dataclasses.asdict(fast) == {
        "topic": "t",
        "partition": 0,
        "offset": 7,
        "timestamp_ms": None,
    }


def test_plain_conversion_stops_at_the_first_error() -> None:
    messages = [
        FakeMessage(0, [("a", b"1"), ("a", b"2")]),
        FakeMessage(1, None),
        FailedMessage(2, None),
        FakeMessage(3, None),
    ]
    records: list[ConsumerRecord[bytes, bytes]] = []

    stopped_at = append_plain_records(messages, 0, len(messages), records.append)

    assert stopped_at == 2
    assert records == [
        ConsumerRecord(
            "orders", 2, 0, b"k", b"v0", (("a", b"1"), ("a", b"2")), 1_700_000_000_000
        ),
        ConsumerRecord("orders", 2, 1, b"k", b"v1", (), 1_700_000_000_000),
    ]
