"""Run the benchmark suite: every scenario, every client, the median of N runs.

    python benchmarks/run.py --bootstrap 127.0.0.1:29092 [--scenarios 1,3-k1]
        [--clients kafka-utils,aiokafka] [--runs 3] [--brief-runs 5] [--quick]

Each (case, client, run) runs in a fresh child process (`child.py`) on fresh topics;
the runs of one case are interleaved across clients so that a noisy minute hurts
every client alike. Cases measured for about a second (`Case.brief`) get
`--brief-runs` runs: on a shared machine one of their runs often moves by a third. A full run writes `benchmarks/results/latest.json`, `latest.png`
and regenerates `docs/benchmarks.md`; `--quick` (about a tenth of the records, a
shorter time budget) writes `results/quick.*` and leaves the docs alone.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import report
from runner import Runner, median_figures
from scenarios import (
    BATCH_BYTES,
    CONSUME_BATCH,
    FIRE_WINDOW,
    RELAY_WINDOW,
    THROUGHPUT_LINGER_MS,
    Case,
    Variant,
    all_cases,
    variants_for,
)


def _java_libs() -> str:
    """The provisioned Kafka jars (kafka-tools included), or '' when there are none."""
    try:
        from kafka_utils.broker import is_provisioned, provision

        if is_provisioned():
            return str(provision())
    except ImportError:
        pass
    for candidate in (
        Path.home() / ".cache/kafka-utils/kafka-4.4.0/libs",
        Path("/tmp/kprobe/libs"),
    ):
        if any(candidate.glob("kafka-tools-*.jar")):
            return str(candidate)
    return ""


def _source_fingerprint() -> str:
    """A digest of kafka-utils' sources: the suite notes if they change mid-run."""
    import hashlib

    import kafka_utils

    root = Path(kafka_utils.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _selected_cases(quick: bool, selection: str | None) -> list[Case]:
    cases = all_cases(quick)
    if not selection:
        return cases
    wanted = [item.strip() for item in selection.split(",") if item.strip()]
    return [
        c
        for c in cases
        if any(
            c.id == w or str(c.scenario) == w or c.id.startswith(w + "-")
            for w in wanted
        )
    ]


def _selected_variants(case: Case, selection: str | None) -> list[Variant]:
    variants = variants_for(case)
    if not selection:
        return variants
    wanted = [item.strip() for item in selection.split(",") if item.strip()]
    return [
        v
        for v in variants
        if any(v.key == w or v.key.startswith(w) or v.family == w for w in wanted)
    ]


def _settings(budget_s: float, timeout_s: float) -> list[str]:
    return [
        f"Producers, all clients: acks, idempotence and compression as each case says; "
        f"linger.ms={THROUGHPUT_LINGER_MS} (0 for the awaited and end-to-end cases); batch.size={BATCH_BYTES:,} bytes "
        "(librdkafka `batch.size`, aiokafka `max_batch_size`, kafka-python `batch_size`, Java `batch.size`).",
        f"Fire-and-forget: clients that return a future per record keep at most {FIRE_WINDOW:,} unacknowledged "
        "(the oldest is awaited); confluent-kafka's Producer (polls on BufferError) and kafka-utils `produce()` (awaits `drain()` every 1,024 "
        "records) are bounded by librdkafka's "
        "queue (100,000 records); `send_batch` sends chunks of 10,000 records.",
        "Awaited produce: k tasks each awaiting its send (threads and callbacks for the synchronous clients); "
        "AIOProducer gets a buffer of k records and a task polling its deliveries.",
        "End-to-end: a producer paced at the fixed rate and a consumer in the same process; latency from the "
        "send call to the consumer handing the record over (perf_counter_ns in the payload). AIOConsumer uses "
        "poll() at 1,000/s and consume(500, 5 ms) at 10,000/s, where poll() cannot keep up. A consumer that has "
        "not caught up 10 s after its producer finished is reported with what it got (capped).",
        "Consumers: a fresh group from earliest, no commits; fetch.max.bytes=52,428,800, "
        "max.partition.fetch.bytes=1,048,576, fetch.wait.max.ms=500, and for every librdkafka-based consumer "
        "fetch.queue.backoff.ms=10 (its default of 1000 ms stalls a fast reader whenever 100,000 records are "
        f"prefetched; Java and aiokafka have no such pause); batch calls ask for {CONSUME_BATCH} records.",
        f"Relay: a fresh group with commits; at most {RELAY_WINDOW:,} records relayed but unacknowledged; an offset is "
        "stored only once its output record is acknowledged.",
        "Warm-up: the broker takes 100,000 records before the suite; every child produces or consumes its warm-up "
        "records (about 2%) before its measured section; end-to-end discards its first 2 s.",
        f"Budget: a measured section stops after {budget_s:.0f} s (row marked capped); a child is killed after "
        f"{timeout_s:.0f} s.",
    ]


def _progress(
    case: Case, run: int, runs: int, variant: Variant, outcome: Any, seconds: float
) -> None:
    if not outcome.ok:
        text = f"n/a: {outcome.reason}"
    else:
        f = outcome.figures
        text = f"{f['records_per_s']:>12,.0f} rec/s  cpu {f.get('cpu_s_per_m') or 0:6.2f} s/M  rss {f['peak_rss_mb']:5.0f} MB"
        if f.get("latency"):
            text += f"  p50 {f['latency']['p50_ms']:.2f}  p99 {f['latency']['p99_ms']:.2f} ms"
        if f.get("capped"):
            text += "  (capped)"
    print(
        f"[{case.id} {run + 1}/{runs}] {variant.label:<36} {text}  ({seconds:.0f}s)",
        flush=True,
    )


async def run_suite(args: argparse.Namespace) -> dict[str, Any]:
    budget_s = args.budget if args.budget else (4.0 if args.quick else 8.0)
    java_libs = _java_libs()
    started = time.monotonic()
    fingerprint = _source_fingerprint()
    results: dict[str, Any] = {
        "quick": args.quick,
        "runs": args.runs,
        "brief_runs": max(args.runs, args.brief_runs),
        "bootstrap": args.bootstrap,
        "machine": report.machine_info(java_libs),
        "settings": _settings(budget_s, args.timeout),
        "cases": [],
    }

    async with Runner(
        args.bootstrap,
        budget_s=budget_s,
        timeout_s=args.timeout,
        java_libs=java_libs,
        verbose=args.verbose,
        profile_dir=args.profile,
    ) as runner:
        await runner.warm_broker(20_000 if args.quick else 100_000)
        for case in _selected_cases(args.quick, args.scenarios):
            variants = _selected_variants(case, args.clients)
            outcomes: dict[str, list[Any]] = {v.key: [] for v in variants}
            runs = max(args.runs, args.brief_runs) if case.brief else args.runs
            for run in range(runs):
                for variant in variants:
                    earlier = outcomes[variant.key]
                    if (
                        earlier
                        and not earlier[-1].ok
                        and not earlier[-1].reason.startswith(
                            ("failed", "timed out", "exit")
                        )
                    ):
                        continue  # not applicable: no point asking again
                    began = time.monotonic()
                    outcome = await runner.run_once(case, variant, run)
                    earlier.append(outcome)
                    _progress(
                        case, run, runs, variant, outcome, time.monotonic() - began
                    )
            results["cases"].append(_case_result(case, variants, outcomes))

    results["duration_s"] = time.monotonic() - started
    results["source"] = {"at_start": fingerprint, "at_end": _source_fingerprint()}
    if results["source"]["at_start"] != results["source"]["at_end"]:
        print("warning: kafka-utils' sources changed during the run", file=sys.stderr)
    return results


def _case_result(
    case: Case, variants: list[Variant], outcomes: dict[str, list[Any]]
) -> dict[str, Any]:
    rows = []
    for variant in variants:
        runs = outcomes[variant.key]
        good = [o.figures for o in runs if o.ok]
        failures = [o.reason for o in runs if not o.ok]
        rows.append(
            {
                "key": variant.key,
                "label": variant.label,
                "ours": variant.is_ours,
                "ok": bool(good),
                "reason": "" if good else (failures[0] if failures else "not run"),
                "failed_runs": failures,
                "runs": good,
                "median": median_figures(good) if good else {},
            }
        )
    return {
        "id": case.id,
        "scenario": case.scenario,
        "title": case.title,
        "kind": case.kind,
        "settings": case.settings_line(),
        "records": case.records,
        "size": case.size,
        "rows": rows,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--bootstrap", default="127.0.0.1:29092", help="broker to benchmark against"
    )
    parser.add_argument(
        "--scenarios",
        help="scenario numbers or case ids, comma-separated (default: all)",
    )
    parser.add_argument(
        "--clients",
        help="row keys, prefixes or families, e.g. kafka-utils,aiokafka,java",
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=3,
        help="runs per client and case; the median is kept",
    )
    parser.add_argument(
        "--brief-runs",
        type=int,
        default=5,
        help="runs of the cases measured for about a second (2, 3-k100, 3-k1000, 4)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="about a tenth of the records: a smoke run"
    )
    parser.add_argument(
        "--budget", type=float, help="seconds a measured section may last (8; quick 4)"
    )
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="seconds before a child is killed"
    )
    parser.add_argument(
        "--no-docs", action="store_true", help="do not regenerate docs/benchmarks.md"
    )
    parser.add_argument(
        "--name", help="write results/NAME.json and .png (default latest, or quick)"
    )
    parser.add_argument(
        "--verbose", action="store_true", help="show the children's stderr"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="record kafka-utils children with py-spy (--native) into this folder",
    )
    args = parser.parse_args()

    results = report.with_ratios(asyncio.run(run_suite(args)))
    name = args.name or ("quick" if args.quick else "latest")
    report.print_table(results)
    report.write_json(results, report.RESULTS / f"{name}.json")
    report.write_chart(results, report.RESULTS / f"{name}.png")
    if name == "latest" and not args.no_docs:
        report.write_docs(results)
    print(
        f"\nwrote {report.RESULTS / name}.json and .png in {results['duration_s'] / 60:.1f} min"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
