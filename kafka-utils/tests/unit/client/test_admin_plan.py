"""The offset-reset and lag arithmetic of AsyncAdmin, without a broker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from kafka_utils._records import OffsetReset, PartitionLag, Shift
from kafka_utils.client._offsets_plan import (
    Watermarks,
    check_target,
    compute_lag,
    plan_resets,
    resolve_target,
    timestamp_ms,
)
from kafka_utils.errors import ConfigurationError

MARKS = Watermarks(low=10, high=50)


@pytest.mark.parametrize(
    "target",
    [
        "earliest",
        "latest",
        0,
        42,
        Shift(-5),
        Shift(3),
        datetime(2024, 1, 1, tzinfo=UTC),
    ],
)
def test_check_target_accepts_every_kind_of_target(target: object) -> None:
    assert check_target(target) == target


@pytest.mark.parametrize("target", [-1, True, "start", "EARLIEST", 1.5, None])
def test_check_target_rejects_what_is_not_a_target(target: object) -> None:
    with pytest.raises(ConfigurationError, match="reset target"):
        check_target(target)


def test_earliest_and_latest_are_the_watermarks() -> None:
    assert resolve_target("earliest", committed=30, watermarks=MARKS) == 10
    assert resolve_target("latest", committed=30, watermarks=MARKS) == 50


@pytest.mark.parametrize(
    ("offset", "expected"), [(25, 25), (10, 10), (50, 50), (5, 10), (500, 50)]
)
def test_explicit_offset_is_clamped_to_the_watermarks(
    offset: int, expected: int
) -> None:
    assert resolve_target(offset, committed=30, watermarks=MARKS) == expected


@pytest.mark.parametrize(
    ("shift", "committed", "expected"),
    [
        (-5, 30, 25),
        (7, 30, 37),
        (-100, 30, 10),  # clamped to earliest
        (100, 30, 50),  # clamped to latest
        (0, 30, 30),
        (5, None, 15),  # nothing committed: counts from the low watermark
        (-5, None, 10),
        (3, 2, 10),  # committed below the low watermark, shifted, then clamped
    ],
)
def test_shift_moves_from_the_committed_offset_within_the_watermarks(
    shift: int, committed: int | None, expected: int
) -> None:
    assert (
        resolve_target(Shift(shift), committed=committed, watermarks=MARKS) == expected
    )


def test_timestamp_uses_the_offset_the_broker_found() -> None:
    moment = datetime(2024, 5, 1, tzinfo=UTC)

    new_offset = resolve_target(
        moment, committed=12, watermarks=MARKS, timestamp_offset=33
    )

    assert new_offset == 33


@pytest.mark.parametrize("found", [-1, None])
def test_timestamp_after_the_last_record_falls_back_to_latest(
    found: int | None,
) -> None:
    moment = datetime(2030, 1, 1, tzinfo=UTC)

    new_offset = resolve_target(
        moment, committed=12, watermarks=MARKS, timestamp_offset=found
    )

    assert new_offset == 50


def test_timestamp_ms_counts_milliseconds_since_the_epoch() -> None:
    assert timestamp_ms(datetime(1970, 1, 1, 0, 0, 1, 500_000, tzinfo=UTC)) == 1500
    plus_two = timezone(timedelta(hours=2))
    assert timestamp_ms(datetime(1970, 1, 1, 2, 0, 2, tzinfo=plus_two)) == 2000


def test_plan_covers_each_partition_in_order_with_its_current_offset() -> None:
    watermarks = {1: Watermarks(0, 40), 0: Watermarks(5, 30), 2: Watermarks(0, 0)}

    plan = plan_resets("orders", Shift(-10), {0: 20, 1: None}, watermarks)

    assert plan == [
        OffsetReset("orders", 0, 20, 10),
        OffsetReset("orders", 1, None, 0),
        OffsetReset("orders", 2, None, 0),
    ]


def test_plan_for_a_timestamp_falls_back_per_partition() -> None:
    watermarks = {0: Watermarks(0, 30), 1: Watermarks(0, 40)}
    moment = datetime(2024, 5, 1, tzinfo=UTC)

    plan = plan_resets("orders", moment, {0: 30, 1: 40}, watermarks, {0: 12, 1: -1})

    assert [row.new_offset for row in plan] == [12, 40]


@pytest.mark.parametrize(
    ("committed", "marks", "lag"),
    [
        (30, Watermarks(0, 50), 20),
        (50, Watermarks(0, 50), 0),
        (None, Watermarks(0, 50), 50),  # nothing committed: every stored record
        (None, Watermarks(20, 50), 30),
        (5, Watermarks(20, 50), 30),  # records below the low watermark are gone
        (70, Watermarks(0, 50), 0),  # committed past the end
        (None, Watermarks(0, 0), 0),
    ],
)
def test_lag_counts_the_records_left_to_read(
    committed: int | None, marks: Watermarks, lag: int
) -> None:
    assert compute_lag("orders", 3, committed, marks) == PartitionLag(
        "orders", 3, committed, marks.high, lag
    )
