"""Delivery callbacks of awaited sends, and resolving their futures in batches.

`AsyncProducer.send_nowait()` returns a plain `asyncio.Future` and gives librdkafka
a `delivery(reports, future)` object as the record's `on_delivery` callback. The
callback runs on whichever thread serves librdkafka's events and only appends
`(future, error, message)` to the producer's report list. The loop then passes a
whole batch of reports to `resolve_deliveries`, which resolves every successful
one's future with its `RecordMetadata` and returns the others (failures, batch
slots, `produce()` records) for the producer to settle.

The future is an exact `asyncio.Future` on purpose: a task that awaits a subclass
leaves the C fast path of asyncio's task step. Both functions are compiled in
`kafka_utils._speedups` when the build had a C compiler (ADR 0009); the Python
versions below behave the same.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from kafka_utils._records import RecordMetadata, make_record_metadata
from kafka_utils.client._bridge import DeliveryReport

__all__ = [
    "COMPILED_DELIVERIES",
    "Delivery",
    "delivery",
    "python_delivery",
    "python_resolve_deliveries",
    "resolve_deliveries",
    "settle_future",
]


class Delivery:
    """The `on_delivery` callback of one awaited send (the Python version)."""

    __slots__ = ("_reports", "future")

    def __init__(
        self, reports: list[DeliveryReport], future: asyncio.Future[Any]
    ) -> None:
        self._reports = reports
        self.future = future

    def __call__(self, error: Any, message: Any) -> None:
        self._reports.append((self.future, error, message))

    def settle(self, result: Any, failed: bool) -> None:
        """Resolve the future with `result`, or fail it when `failed`."""
        settle_future(self.future, result, failed)


def settle_future(future: asyncio.Future[Any], result: Any, failed: bool) -> None:
    """Resolve or fail `future`, unless the sender cancelled it already."""
    if future.done():
        return
    if failed:
        future.set_exception(result)
    else:
        future.set_result(result)


def python_delivery(
    reports: list[DeliveryReport], future: asyncio.Future[Any]
) -> Delivery:
    """The pure-Python `delivery`."""
    return Delivery(reports, future)


def python_resolve_deliveries(
    reports: list[DeliveryReport], future_type: type[Any]
) -> list[DeliveryReport]:
    """The pure-Python `resolve_deliveries`."""
    rest: list[DeliveryReport] = []
    for report in reports:
        target, error, message = report
        if error is not None or type(target) is not future_type:
            rest.append(report)
        elif not target.done():
            target.set_result(
                make_record_metadata(
                    message.topic(),
                    message.partition(),
                    message.offset(),
                    message.timestamp()[1],
                )
            )
    return rest


delivery: Callable[[list[DeliveryReport], asyncio.Future[Any]], Any]
resolve_deliveries: Callable[[list[DeliveryReport], type[Any]], list[DeliveryReport]]
try:
    from kafka_utils import _speedups
except ImportError:  # built without a C compiler
    COMPILED_DELIVERIES = False
    delivery = python_delivery
    resolve_deliveries = python_resolve_deliveries
else:
    COMPILED_DELIVERIES = True
    _speedups.bind_metadata(RecordMetadata)
    delivery = _speedups.delivery
    resolve_deliveries = _speedups.resolve_deliveries
