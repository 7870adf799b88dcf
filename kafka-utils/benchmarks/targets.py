"""The targets of the issue, checked against the medians of one suite run.

Every ratio compares figures measured in the same suite run. A target is checked
for each kafka-utils row it applies to; its verdict is the one of the primary row
(asyncio; for producing, the fire-and-forget `produce()` call), and the other rows
are listed beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# Memory: the second half's peak RSS may exceed the first half's by this much and
# still count as "no growth" (RSS is sampled; allocators keep some slack).
GROWTH_TOLERANCE_MB = 5.0
RSS_LIMIT_MB = 150.0

Results = dict[str, Any]
Figures = dict[str, Any]


def _case(results: Results, case_id: str) -> dict[str, Any] | None:
    for case in results["cases"]:
        if case["id"] == case_id:
            return case
    return None


def _ours(case: dict[str, Any]) -> list[dict[str, Any]]:
    return [row for row in case["rows"] if row["ours"] and row["ok"]]


def _row(case: dict[str, Any], key: str) -> Figures | None:
    for row in case["rows"]:
        if row["key"] == key and row["ok"]:
            median: Figures = row["median"]
            return median
    return None


def primary_key(case: dict[str, Any]) -> str:
    """The kafka-utils row a case's verdicts and ratios are taken from."""
    return (
        "kafka-utils/asyncio/produce"
        if case["kind"] == "produce"
        else "kafka-utils/asyncio"
    )


def _check(
    results: Results,
    case_id: str,
    text: str,
    measure: Callable[[dict[str, Any], Figures], float | None],
    passes: Callable[[float], bool],
    unit: str,
) -> dict[str, Any]:
    """Measure `text` on every kafka-utils row of a case."""
    case = _case(results, case_id)
    entry: dict[str, Any] = {
        "target": text,
        "case": case_id,
        "checks": [],
        "verdict": "n/a",
    }
    if case is None:
        entry["measured"] = "case not run"
        return entry

    for row in _ours(case):
        value = measure(case, row["median"])
        verdict = "n/a" if value is None else ("PASS" if passes(value) else "MISS")
        entry["checks"].append(
            {"row": row["label"], "value": value, "unit": unit, "verdict": verdict}
        )
        if row["key"] == primary_key(case):
            entry["verdict"] = verdict
            entry["measured"] = "n/a" if value is None else f"{value:.2f}{unit}"
    entry.setdefault("measured", "kafka-utils row failed")
    return entry


def _ratio_to(peer: str) -> Callable[[dict[str, Any], Figures], float | None]:
    def measure(case: dict[str, Any], ours: Figures) -> float | None:
        theirs = _row(case, peer)
        if (
            theirs is None
            or not theirs.get("records_per_s")
            or not ours.get("records_per_s")
        ):
            return None
        return float(ours["records_per_s"]) / float(theirs["records_per_s"])

    return measure


def _latency(key: str) -> Callable[[dict[str, Any], Figures], float | None]:
    def measure(case: dict[str, Any], ours: Figures) -> float | None:
        latency = ours.get("latency") or {}
        value = latency.get(key)
        return None if value is None else float(value)

    return measure


def _peak(case: dict[str, Any], ours: Figures) -> float | None:
    value = ours.get("peak_rss_mb")
    return None if value is None else float(value)


def _growth(case: dict[str, Any], ours: Figures) -> float | None:
    first, second = ours.get("rss_first_half_mb"), ours.get("rss_second_half_mb")
    if first is None or second is None:
        return None
    return float(second) - float(first)


def _iterator_share(
    batch_case_id: str, results: Results
) -> Callable[[dict[str, Any], Figures], float | None]:
    def measure(case: dict[str, Any], ours: Figures) -> float | None:
        batch_case = _case(results, batch_case_id)
        if batch_case is None:
            return None
        key = next((row["key"] for row in case["rows"] if row["median"] is ours), None)
        batch = _row(batch_case, key) if key else None
        if batch is None or not batch.get("records_per_s"):
            return None
        return float(ours["records_per_s"]) / float(batch["records_per_s"])

    return measure


def evaluate(results: Results) -> list[dict[str, Any]]:
    """Every target of the issue with its measured value and PASS / MISS."""
    targets: list[dict[str, Any]] = []
    at_least = {
        0.9: lambda v: v >= 0.9,
        2: lambda v: v >= 2,
        3: lambda v: v >= 3,
        5: lambda v: v >= 5,
    }

    for case_id in ("1", "2-none", "2-lz4"):
        for peer, label, factor in (
            ("confluent-sync", "confluent-kafka sync Producer", 0.9),
            ("aiokafka", "aiokafka", 3),
            ("confluent-aio", "AIOProducer", 2),
        ):
            targets.append(
                _check(
                    results,
                    case_id,
                    f"produce ({case_id}): >= {factor}x {label}",
                    _ratio_to(peer),
                    at_least[factor],
                    "x",
                )
            )

    targets.append(
        _check(
            results,
            "3-k1",
            "awaited, 1 in flight, linger 0: p99 < 5 ms",
            _latency("p99_ms"),
            lambda v: v < 5,
            " ms",
        )
    )
    for peer, label in (("aiokafka", "aiokafka"), ("confluent-aio", "AIOProducer")):
        targets.append(
            _check(
                results,
                "3-k1000",
                f"awaited, 1000 in flight: >= 2x {label}",
                _ratio_to(peer),
                at_least[2],
                "x",
            )
        )

    for size in ("100b", "1000b"):
        case_id = f"4-{size}-batch"
        for peer, label, factor in (
            ("confluent-sync", "confluent-kafka sync consume(500)", 0.9),
            ("aiokafka", "aiokafka getmany", 2),
            ("confluent-aio", "AIOConsumer", 5),
        ):
            targets.append(
                _check(
                    results,
                    case_id,
                    f"consume batch ({size}): >= {factor}x {label}",
                    _ratio_to(peer),
                    at_least[factor],
                    "x",
                )
            )
        targets.append(
            _check(
                results,
                f"4-{size}-iter",
                f"consume ({size}): iterator >= 0.7x the batch API",
                _iterator_share(case_id, results),
                lambda v: v >= 0.7,
                "x",
            )
        )

    targets.append(
        _check(
            results,
            "5-r1000",
            "end-to-end at 1,000/s, linger 0: p99 < 10 ms",
            _latency("p99_ms"),
            lambda v: v < 10,
            " ms",
        )
    )

    for case_id, what in (
        ("1", "producing 1M"),
        ("4-100b-batch", "consuming 1M (batch)"),
        ("4-100b-iter", "consuming 1M (iterator)"),
    ):
        targets.append(
            _check(
                results,
                case_id,
                f"memory, {what}: peak RSS < {RSS_LIMIT_MB:.0f} MB",
                _peak,
                lambda v: v < RSS_LIMIT_MB,
                " MB",
            )
        )
        targets.append(
            _check(
                results,
                case_id,
                f"memory, {what}: no RSS growth from first to second half",
                _growth,
                lambda growth: growth <= GROWTH_TOLERANCE_MB,
                " MB",
            )
        )
    return targets
