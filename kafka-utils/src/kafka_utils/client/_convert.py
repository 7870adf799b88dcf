"""Turns librdkafka messages into `ConsumerRecord`s: the consumer's hot loop.

The loop builds each record by writing its slots directly (see `_records`), with
every setter in a local variable, so that the only per-message Python work is the
message's accessor calls and the slot writes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kafka_utils._records import CONSUMER_RECORD_SETTERS, ConsumerRecord

__all__ = ["append_plain_records"]


def append_plain_records(
    messages: list[Any],
    start: int,
    end: int,
    append: Callable[[ConsumerRecord[Any, Any]], None],
) -> int:
    """Append records for `messages[start:end]` with undecoded keys and values.

    Stops at the first message that carries an error and returns its index, or
    returns `end` when every message became a record.
    """
    create = object.__new__
    record_type = ConsumerRecord
    (
        set_topic,
        set_partition,
        set_offset,
        set_key,
        set_value,
        set_headers,
        set_timestamp,
    ) = CONSUMER_RECORD_SETTERS
    empty: tuple[tuple[str, bytes | None], ...] = ()

    for index in range(start, end):
        message = messages[index]
        if message.error() is not None:
            return index

        record = create(record_type)
        set_topic(record, message.topic())
        set_partition(record, message.partition())
        set_offset(record, message.offset())
        set_key(record, message.key())
        set_value(record, message.value())
        headers = message.headers()
        set_headers(record, tuple(headers) if headers else empty)
        set_timestamp(record, message.timestamp()[1])
        append(record)
    return end
