"""Awaitables that are already done: the consumer iterator's fast path.

`async for record in consumer` awaits one object per record. When the record is
already buffered there is nothing to wait for, and a coroutine per record (its
frame, and the StopIteration that carries its result) was the largest part of what
the iterator cost beyond the batch API. The compiled `ready` (kafka_utils/_speedups.c)
answers the first send with the value through the `am_send` slot; the Python
fallback is a small generator-based awaitable, which behaves the same.
`next_ready(batch)` takes the next plain record of a consumer batch and returns it
that way, in one call.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from typing import Any

from kafka_utils._records import message_record

__all__ = ["COMPILED_READY", "next_ready", "python_next_ready", "python_ready", "ready"]


class _Ready:
    """An awaitable that returns its value without suspending."""

    __slots__ = ("_value",)

    def __init__(self, value: Any) -> None:
        self._value = value

    def __await__(self) -> Generator[Any, None, Any]:
        return self._value
        yield  # a generator function: awaiting it returns at once


def python_ready(value: Any) -> Awaitable[Any]:
    """The pure-Python `ready`."""
    return _Ready(value)


def python_next_ready(batch: Any) -> Awaitable[Any] | None:
    """The next record of `batch` as a done awaitable, or None.

    None, with the batch left as it is, when the next message carries an error or
    is the batch's last one: the consumer's general path handles those.
    """
    messages = batch.messages
    position = batch.position
    if position + 1 >= len(messages):
        return None
    message = messages[position]
    if message.error() is not None:
        return None
    batch.position = position + 1
    return _Ready(message_record(message))


ready: Callable[[Any], Awaitable[Any]]
next_ready: Callable[[Any], Awaitable[Any] | None]
try:
    from kafka_utils import _speedups
except ImportError:  # built without a C compiler
    COMPILED_READY = False
    ready = python_ready
    next_ready = python_next_ready
else:
    COMPILED_READY = True
    ready = _speedups.ready
    next_ready = _speedups.next_ready
