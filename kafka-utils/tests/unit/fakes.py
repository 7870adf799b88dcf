"""Stand-ins shared by the unit tests of the compiled hot paths and their fallbacks.

`kafka_utils._speedups` and its pure-Python twins read librdkafka's messages only
through a handful of methods, so a small fake message is enough to drive them
without a broker. `both_builds` parametrizes a test over the Python function and
its compiled counterpart, skipping the compiled one when the build had no C
compiler (CI makes that a failure elsewhere, with KAFKA_UTILS_REQUIRE_SPEEDUPS).
"""

from __future__ import annotations

from typing import Any

import pytest

TIMESTAMP_MS = 1_700_000_000_000


class FakeMessage:
    """The part of confluent-kafka's `Message` that the record paths read.

    A message is in topic "orders", partition 2, unless told otherwise, with key
    b"k" and value b"v<offset>".
    """

    def __init__(
        self,
        offset: int,
        headers: list[tuple[str, bytes]] | None = None,
        *,
        failed: bool = False,
        timestamp_ms: int | None = TIMESTAMP_MS,
        topic: str = "orders",
        partition: int = 2,
    ) -> None:
        self._offset = offset
        self._topic = topic
        self._partition = partition
        self._headers = headers
        self._failed = failed
        self._timestamp_ms = timestamp_ms

    def error(self) -> object | None:
        return object() if self._failed else None

    def topic(self) -> str:
        return self._topic

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def key(self) -> bytes:
        return b"k"

    def value(self) -> bytes:
        return b"v%d" % self._offset

    def headers(self) -> list[tuple[str, bytes]] | None:
        return self._headers

    def timestamp(self) -> tuple[int, int | None]:
        return (1, self._timestamp_ms)


def both_builds(python: Any, compiled: Any, *, compiled_built: bool) -> list[Any]:
    """Parameters for a test that must pass on the Python and compiled versions."""
    skip_unbuilt = pytest.mark.skipif(
        not compiled_built, reason="built without a C compiler"
    )
    return [
        pytest.param(python, id="python"),
        pytest.param(compiled, id="compiled", marks=skip_unbuilt),
    ]
