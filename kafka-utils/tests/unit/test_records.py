from __future__ import annotations

import dataclasses
import gc
import os
import pickle
from collections.abc import Callable
from typing import Any

import pytest
from fakes import FakeMessage, both_builds

from kafka_utils import ConsumerRecord, RecordMetadata, TopicPartition
from kafka_utils import _records as records_module
from kafka_utils._records import (
    make_consumer_record,
    make_record_metadata,
    python_append_message_records,
    python_message_record,
)

ViewBuilder = Callable[[Any], ConsumerRecord[Any, Any]]
BatchBuilder = Callable[[list[Any], int, int, list[Any]], int]

compiled_only = pytest.mark.skipif(
    not records_module.COMPILED_VIEWS, reason="built without a C compiler"
)
# Both views the consumer may hand out: the compiled one when the build had a C
# compiler, and the pure-Python fallback. They must be indistinguishable.
VIEWS = both_builds(
    python_message_record,
    records_module.message_record,
    compiled_built=records_module.COMPILED_VIEWS,
)
BATCH_BUILDERS = both_builds(
    python_append_message_records,
    records_module.append_message_records,
    compiled_built=records_module.COMPILED_VIEWS,
)


def test_fast_consumer_records_equal_normally_built_ones() -> None:
    fast = make_consumer_record("t", 1, 5, b"k", b"v", (("h", b"1"),), 42)
    normal = ConsumerRecord("t", 1, 5, b"k", b"v", (("h", b"1"),), 42)

    assert fast == normal
    assert hash(fast) == hash(normal)
    assert repr(fast) == repr(normal)
    assert fast.topic_partition == TopicPartition("t", 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.offset = 6  # type: ignore[misc]


@pytest.mark.parametrize("message_record", VIEWS)
def test_a_record_over_a_message_equals_one_holding_the_same_fields(
    message_record: ViewBuilder,
) -> None:
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


@pytest.mark.parametrize("message_record", VIEWS)
def test_a_record_over_a_message_is_read_only(message_record: ViewBuilder) -> None:
    view = message_record(FakeMessage(7, None))

    with pytest.raises(dataclasses.FrozenInstanceError):
        view.value = b"other"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del view.offset
    assert view.value == b"v7"
    assert view.headers == ()


@pytest.mark.parametrize("message_record", VIEWS)
def test_records_pickle_as_plain_values(message_record: ViewBuilder) -> None:
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


@pytest.mark.parametrize("append_message_records", BATCH_BUILDERS)
def test_plain_conversion_stops_at_the_first_error(
    append_message_records: BatchBuilder,
) -> None:
    messages = [
        FakeMessage(0, [("a", b"1"), ("a", b"2")]),
        FakeMessage(1, None),
        FakeMessage(2, failed=True),
        FakeMessage(3, None),
    ]
    records: list[ConsumerRecord[bytes, bytes]] = []

    stopped_at = append_message_records(messages, 0, len(messages), records)

    assert stopped_at == 2
    assert records == [
        ConsumerRecord(
            "orders", 2, 0, b"k", b"v0", (("a", b"1"), ("a", b"2")), 1_700_000_000_000
        ),
        ConsumerRecord("orders", 2, 1, b"k", b"v1", (), 1_700_000_000_000),
    ]


@compiled_only
def test_compiled_views_are_left_to_reference_counting() -> None:
    message = FakeMessage(7, None)
    view = records_module.message_record(message)

    # Not tracked by the cyclic collector, and freed with its last reference.
    assert not gc.is_tracked(view)
    assert type(view).__mro__[1] is ConsumerRecord
    del view
    assert gc.get_referrers(message) == []


@compiled_only
def test_compiled_views_match_by_field_position() -> None:
    view = records_module.message_record(FakeMessage(7, None))

    match view:
        case ConsumerRecord("orders", partition, offset, key, value):
            assert (partition, offset, key, value) == (2, 7, b"k", b"v7")
        case _:
            pytest.fail("the view did not match by position")


@pytest.mark.skipif(
    os.environ.get("KAFKA_UTILS_REQUIRE_SPEEDUPS") != "1",
    reason="only where the build is known to have a C compiler (CI sets this)",
)
def test_the_build_compiled_the_record_view() -> None:
    assert records_module.COMPILED_VIEWS
