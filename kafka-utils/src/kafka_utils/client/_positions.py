"""The consumer's next position per partition, read from a batch handed out.

After records are returned, the consumer notes for each partition the offset
after the last record returned. Walking the batch backwards, the first message
seen of a partition is its last one; the walk stops once every assigned partition
is known. With one partition that is one step, but a batch from a consumer with
several partitions usually holds runs of one or two of them, and the walk then
visits every message. The compiled `latest_offsets` (kafka_utils/_speedups.c)
makes that walk cheap: for a message of the same partition as the one after it, it
only reads the partition and topic. The Python fallback behaves the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["COMPILED_POSITIONS", "latest_offsets", "python_latest_offsets"]

LatestOffsets = Callable[[list[Any], int, int, int], dict[tuple[str, int], int]]


def python_latest_offsets(
    messages: list[Any], start: int, stop: int, wanted: int
) -> dict[tuple[str, int], int]:
    """The next offset of each (topic, partition) among `messages[start:stop]`.

    Messages that carry an error are skipped. The walk stops early once `wanted`
    partitions are known.
    """
    latest: dict[tuple[str, int], int] = {}
    known: tuple[str, int] | None = None

    for index in range(stop - 1, start - 1, -1):
        message = messages[index]
        key = (message.topic(), message.partition())
        if key == known or key in latest:
            known = key
            continue
        if message.error() is not None:
            continue

        latest[key] = message.offset() + 1
        known = key
        if len(latest) == wanted:
            break

    return latest


latest_offsets: LatestOffsets
try:
    from kafka_utils import _speedups
except ImportError:  # built without a C compiler
    COMPILED_POSITIONS = False
    latest_offsets = python_latest_offsets
else:
    COMPILED_POSITIONS = True
    latest_offsets = _speedups.latest_offsets
