"""The next position per partition after a batch, compiled and in Python."""

from __future__ import annotations

import os
from typing import Any

import pytest
from fakes import FakeMessage, both_builds

from kafka_utils.client import _positions

LATEST_OFFSETS = both_builds(
    _positions.python_latest_offsets,
    _positions.latest_offsets,
    compiled_built=_positions.COMPILED_POSITIONS,
)


def _run(partition: int, first: int, count: int, topic: str = "orders") -> list[Any]:
    return [
        FakeMessage(offset, topic=topic, partition=partition)
        for offset in range(first, first + count)
    ]


@pytest.mark.parametrize("latest_offsets", LATEST_OFFSETS)
def test_one_partition_takes_the_last_offset(latest_offsets: Any) -> None:
    messages = _run(0, 100, 5)

    assert latest_offsets(messages, 0, 5, 1) == {("orders", 0): 105}


@pytest.mark.parametrize("latest_offsets", LATEST_OFFSETS)
def test_runs_of_partitions_give_each_its_last_offset(latest_offsets: Any) -> None:
    messages = _run(0, 10, 3) + _run(1, 50, 4) + _run(0, 13, 2) + _run(3, 7, 1)

    assert latest_offsets(messages, 0, len(messages), 4) == {
        ("orders", 0): 15,
        ("orders", 1): 54,
        ("orders", 3): 8,
    }


@pytest.mark.parametrize("latest_offsets", LATEST_OFFSETS)
def test_same_partition_number_of_another_topic_is_its_own(
    latest_offsets: Any,
) -> None:
    messages = _run(0, 10, 2, topic="payments") + _run(0, 20, 2, topic="orders")

    assert latest_offsets(messages, 0, 4, 2) == {
        ("payments", 0): 12,
        ("orders", 0): 22,
    }


@pytest.mark.parametrize("latest_offsets", LATEST_OFFSETS)
def test_only_the_range_given_is_read(latest_offsets: Any) -> None:
    messages = _run(0, 0, 10)

    assert latest_offsets(messages, 2, 6, 1) == {("orders", 0): 6}
    assert latest_offsets(messages, 4, 4, 1) == {}


@pytest.mark.parametrize("latest_offsets", LATEST_OFFSETS)
def test_messages_with_errors_are_skipped(latest_offsets: Any) -> None:
    messages = [
        *_run(0, 10, 3),
        FakeMessage(99, failed=True, partition=0),
        FakeMessage(98, failed=True, partition=5),
    ]

    assert latest_offsets(messages, 0, 5, 2) == {("orders", 0): 13}


@pytest.mark.parametrize("latest_offsets", LATEST_OFFSETS)
def test_walk_stops_once_every_wanted_partition_is_known(
    latest_offsets: Any,
) -> None:
    # Partition 0 appears only before partition 1's run: with one partition
    # wanted, the walk never reaches it.
    messages = _run(0, 10, 3) + _run(1, 50, 4)

    assert latest_offsets(messages, 0, 7, 1) == {("orders", 1): 54}
    assert latest_offsets(messages, 0, 7, 2) == {("orders", 1): 54, ("orders", 0): 13}


@pytest.mark.parametrize("latest_offsets", LATEST_OFFSETS)
def test_a_failing_message_method_propagates(latest_offsets: Any) -> None:
    class Broken(FakeMessage):
        def partition(self) -> int:
            raise RuntimeError("message freed")

    with pytest.raises(RuntimeError, match="message freed"):
        latest_offsets([Broken(1)], 0, 1, 1)


@pytest.mark.skipif(
    os.environ.get("KAFKA_UTILS_REQUIRE_SPEEDUPS") != "1",
    reason="only where the build is known to have a C compiler (CI sets this)",
)
def test_the_build_compiled_the_position_walk() -> None:
    assert _positions.COMPILED_POSITIONS
