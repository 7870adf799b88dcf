"""The arithmetic of consumer lag and offset resets, apart from any broker call.

`AsyncAdmin` gathers committed offsets and watermarks from the cluster and hands
them to these functions, so the rules (clamping, shifting, the timestamp fallback,
what lag means when nothing is committed) are tested without a broker.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from kafka_utils._records import OffsetReset, PartitionLag, ResetTarget, Shift
from kafka_utils.errors import ConfigurationError

__all__ = [
    "Watermarks",
    "check_target",
    "compute_lag",
    "plan_resets",
    "resolve_target",
    "timestamp_ms",
]


@dataclass(frozen=True, slots=True)
class Watermarks:
    """The first offset still stored in a partition and the next one to be written."""

    low: int
    high: int


def check_target(target: object) -> ResetTarget:
    """Return `target` if it is a valid `ResetTarget`, else raise.

    Raises:
        ConfigurationError: not one of `"earliest"`, `"latest"`, an offset >= 0,
            a `datetime` or a `Shift`.
    """
    if target == "earliest":
        return "earliest"
    if target == "latest":
        return "latest"

    # bool is an int subclass; True is never meant as offset 1.
    if isinstance(target, int) and not isinstance(target, bool):
        if target < 0:
            raise ConfigurationError(
                f"reset target offset must be >= 0, got {target} "
                "(use Shift(n) to move back by n records)"
            )
        return target

    if isinstance(target, datetime | Shift):
        return target
    raise ConfigurationError(
        "reset target must be 'earliest', 'latest', an offset, a datetime or a "
        f"Shift, got {target!r}"
    )


def timestamp_ms(moment: datetime) -> int:
    """Milliseconds since the epoch; a naive datetime is taken as local time."""
    return int(moment.timestamp() * 1000)


def resolve_target(
    target: ResetTarget,
    *,
    committed: int | None,
    watermarks: Watermarks,
    timestamp_offset: int | None = None,
) -> int:
    """The offset one partition moves to, always within its watermarks.

    Args:
        target: where to move.
        committed: the group's committed offset, or None; a `Shift` counts from it,
            or from the low watermark when nothing is committed.
        watermarks: the partition's low and high watermarks.
        timestamp_offset: for a `datetime` target, the first offset whose timestamp
            is at or after it, or None (or -1, as the broker answers) when there is
            none: the group then moves to the high watermark.

    Returns:
        The new offset, clamped to `[watermarks.low, watermarks.high]`.
    """
    if target == "earliest":
        wanted = watermarks.low
    elif target == "latest":
        wanted = watermarks.high
    elif isinstance(target, Shift):
        base = committed if committed is not None else watermarks.low
        wanted = base + target.n
    elif isinstance(target, datetime):
        # ListOffsets answers -1 when no record is at or after the timestamp.
        if timestamp_offset is None or timestamp_offset < 0:
            wanted = watermarks.high
        else:
            wanted = timestamp_offset
    else:
        wanted = target

    # kafka-consumer-groups.sh clamps the same way: an offset outside the log
    # would make the consumer fall back to auto.offset.reset.
    return min(max(wanted, watermarks.low), watermarks.high)


def plan_resets(
    topic: str,
    target: ResetTarget,
    committed: Mapping[int, int | None],
    watermarks: Mapping[int, Watermarks],
    timestamp_offsets: Mapping[int, int] | None = None,
) -> list[OffsetReset]:
    """Plan an offset reset for the partitions in `watermarks`, sorted by partition.

    Args:
        topic: the topic of every partition.
        target: where to move.
        committed: committed offset per partition; a missing partition counts as
            nothing committed.
        watermarks: low and high watermark per partition to reset.
        timestamp_offsets: for a `datetime` target, the broker's answer per
            partition (see `resolve_target`).
    """
    timestamp_offsets = timestamp_offsets or {}
    plan = []
    for partition in sorted(watermarks):
        current = committed.get(partition)
        new_offset = resolve_target(
            target,
            committed=current,
            watermarks=watermarks[partition],
            timestamp_offset=timestamp_offsets.get(partition),
        )
        plan.append(OffsetReset(topic, partition, current, new_offset))
    return plan


def compute_lag(
    topic: str, partition: int, committed: int | None, watermarks: Watermarks
) -> PartitionLag:
    """The lag of one partition: the records a group still has to read.

    Records below the low watermark are gone (retention or `delete_records`), so
    they do not count; a committed offset past the high watermark means no lag.
    """
    start = watermarks.low if committed is None else max(committed, watermarks.low)
    lag = max(watermarks.high - start, 0)
    return PartitionLag(topic, partition, committed, watermarks.high, lag)
