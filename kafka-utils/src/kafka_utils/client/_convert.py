"""Wraps librdkafka messages as `ConsumerRecord`s: the consumer's hot loop.

Each record is a view over its message (see `_records`): the loop only checks the
message for an error, creates the record and writes its one slot, with every callable
in a local variable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kafka_utils._records import MESSAGE_RECORD_BUILDER, ConsumerRecord

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
    create, record_type, set_message = MESSAGE_RECORD_BUILDER

    for index in range(start, end):
        message = messages[index]
        if message.error() is not None:
            return index

        record = create(record_type)
        set_message(record, message)
        append(record)
    return end
