"""Presents one suite run: a table on stdout, JSON, a PNG chart and docs/benchmarks.md.

`python benchmarks/report.py` regenerates the chart and the docs page from
`benchmarks/results/latest.json` without running anything.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil

from targets import evaluate, primary_key

HERE = Path(__file__).parent
RESULTS = HERE / "results"
DOCS_PAGE = HERE.parent / "docs" / "benchmarks.md"
DOCS_IMAGE = HERE.parent / "docs" / "img" / "benchmarks.png"


def machine_info(java_libs: str) -> dict[str, Any]:
    """CPU, cores, RAM, OS, Python and the versions of every client measured."""
    import confluent_kafka

    cpu = platform.processor() or "unknown"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions: dict[str, str] = {
        "confluent-kafka": confluent_kafka.__version__,
        "librdkafka": confluent_kafka.libversion()[0],
    }
    for name, module in (
        ("aiokafka", "aiokafka"),
        ("kafka-python", "kafka"),
        ("uvloop", "uvloop"),
    ):
        try:
            versions[name] = __import__(module).__version__
        except ImportError:
            versions[name] = "not installed"
    try:
        from kafka_utils.broker import KAFKA_VERSION

        versions["Kafka"] = KAFKA_VERSION
    except ImportError:
        match = re.search(
            r"kafka-clients-([\d.]+)\.jar",
            " ".join(os.listdir(java_libs)) if java_libs else "",
        )
        versions["Kafka"] = match.group(1) if match else "unknown"
    import kafka_utils

    versions["kafka-utils"] = kafka_utils.__version__
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "java": _java_version(),
        "versions": versions,
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _java_version() -> str:
    java = shutil.which("java")
    if java is None:
        return "not installed"
    output = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    return output.splitlines()[0] if output else "unknown"


def with_ratios(results: dict[str, Any]) -> dict[str, Any]:
    """Add each row's ratio to kafka-utils' primary row (above 1: kafka-utils leads).

    A row whose runs all ended with no measured record (an end-to-end consumer that
    never caught up) becomes n/a with that reason.
    """
    for case in results["cases"]:
        for row in case["rows"]:
            if row["ok"] and not row["median"].get("records"):
                row["ok"] = False
                row["reason"] = "fell behind: no measured record arrived in time"
        primary = next(
            (r for r in case["rows"] if r["key"] == primary_key(case) and r["ok"]), None
        )
        for row in case["rows"]:
            row["ratio"] = _ratio(case, primary, row) if primary and row["ok"] else None
    results["targets"] = evaluate(results)
    return results


def _ratio(
    case: dict[str, Any], primary: dict[str, Any], row: dict[str, Any]
) -> float | None:
    ours, theirs = primary["median"], row["median"]
    if case["kind"] == "e2e":
        mine, other = (
            (ours.get("latency") or {}).get("p99_ms"),
            (theirs.get("latency") or {}).get("p99_ms"),
        )
        return other / mine if mine and other else None
    if ours.get("records_per_s") and theirs.get("records_per_s"):
        return float(ours["records_per_s"]) / float(theirs["records_per_s"])
    return None


# Text and Markdown tables


_COLUMNS = (
    "client",
    "records/s",
    "MB/s",
    "CPU s/M",
    "RSS MB",
    "p50 ms",
    "p99 ms",
    "p99.9 ms",
    "ku x",
)


def _cells(case: dict[str, Any], row: dict[str, Any]) -> list[str]:
    if not row["ok"]:
        return [row["label"], f"n/a: {row['reason']}", *[""] * (len(_COLUMNS) - 2)]
    m = row["median"]
    latency = m.get("latency") or {}
    mark = " (capped)" if m.get("capped") else ""
    return [
        row["label"],
        f"{m['records_per_s']:,.0f}{mark}" if m.get("records_per_s") else "-",
        f"{m['mb_per_s']:.1f}" if m.get("mb_per_s") is not None else "-",
        f"{m['cpu_s_per_m']:.2f}" if m.get("cpu_s_per_m") is not None else "-",
        f"{m['peak_rss_mb']:.0f}" if m.get("peak_rss_mb") is not None else "-",
        *(
            f"{latency[k]:.2f}" if k in latency else "-"
            for k in ("p50_ms", "p99_ms", "p999_ms")
        ),
        "" if row["ours"] else (f"{row['ratio']:.2f}" if row.get("ratio") else "-"),
    ]


def print_table(results: dict[str, Any], stream: Any = sys.stdout) -> None:
    """The results and the targets as plain text."""
    for case in results["cases"]:
        stream.write(f"\n== {case['id']}: {case['title']}\n   {case['settings']}\n")
        rows = [list(_COLUMNS)] + [_cells(case, row) for row in case["rows"]]
        widths = [
            max(len(r[i]) for r in rows if not r[1].startswith("n/a") or i == 0)
            for i in range(len(_COLUMNS))
        ]
        for cells in rows:
            if cells[1].startswith("n/a"):
                stream.write(f"   {cells[0]:<{widths[0]}}  {cells[1]}\n")
                continue
            stream.write(
                "   "
                + "  ".join(
                    c.rjust(w) if i else c.ljust(w)
                    for i, (c, w) in enumerate(zip(cells, widths, strict=True))
                )
                + "\n"
            )
    stream.write("\n== Targets (ratios from this run)\n")
    for target in results["targets"]:
        others = ", ".join(
            f"{c['row']} {_value(c)} {c['verdict']}" for c in target["checks"]
        )
        stream.write(
            f"   [{target['verdict']:>4}] {target['target']}: {target['measured']}   ({others})\n"
        )


def _value(check: dict[str, Any]) -> str:
    return "n/a" if check["value"] is None else f"{check['value']:.2f}{check['unit']}"


def _markdown_table(case: dict[str, Any]) -> str:
    lines = [
        "| " + " | ".join(_COLUMNS) + " |",
        "|" + "|".join([":---"] + ["---:"] * (len(_COLUMNS) - 1)) + "|",
    ]
    for row in case["rows"]:
        cells = _cells(case, row)
        if row["ours"]:
            cells[0] = f"**{cells[0]}**"
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# JSON, chart and docs


def write_json(results: dict[str, Any], path: Path = RESULTS / "latest.json") -> None:
    """Everything measured, every run included."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1) + "\n")


def write_chart(results: dict[str, Any], path: Path = RESULTS / "latest.png") -> None:
    """One horizontal bar panel per case: records/s, or p99 latency for latency cases."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = results["cases"]
    columns = 3
    rows = (len(cases) + columns - 1) // columns
    figure, axes = plt.subplots(
        rows, columns, figsize=(6 * columns, 3.4 * rows), squeeze=False
    )
    for axis, case in zip(axes.flat, cases, strict=False):
        latency_case = case["kind"] == "e2e" or case["id"] == "3-k1"
        labels, values, colours = [], [], []
        for row in case["rows"]:
            if not row["ok"]:
                continue
            m = row["median"]
            value = (
                (m.get("latency") or {}).get("p99_ms")
                if latency_case
                else m.get("records_per_s")
            )
            if value is None:
                continue
            labels.append(row["label"])
            values.append(value)
            colours.append("#1f77b4" if row["ours"] else "#b0b0b0")
        axis.barh(labels[::-1], values[::-1], color=colours[::-1])
        axis.set_title(f"{case['id']}: {case['title']}", fontsize=8)
        axis.set_xlabel(
            "p99 latency, ms, log scale (lower is better)"
            if latency_case
            else "records/s",
            fontsize=7,
        )
        if latency_case and values:
            axis.set_xscale("log")
        axis.tick_params(labelsize=7)
    for axis in list(axes.flat)[len(cases) :]:
        axis.axis("off")
    machine = results["machine"]
    figure.suptitle(
        f"kafka-utils benchmarks, {machine['date']}: {machine['cpu']}, {machine['cores']} cores",
        fontsize=10,
    )
    figure.tight_layout(rect=(0, 0, 1, 0.97))
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)
    plt.close(figure)


def write_docs(results: dict[str, Any], path: Path = DOCS_PAGE) -> None:
    """Regenerate docs/benchmarks.md from the results, with the chart beside it."""
    machine, versions = results["machine"], results["machine"]["versions"]
    DOCS_IMAGE.parent.mkdir(parents=True, exist_ok=True)
    if (RESULTS / "latest.png").exists():
        shutil.copyfile(RESULTS / "latest.png", DOCS_IMAGE)
    passed = sum(t["verdict"] == "PASS" for t in results["targets"])
    parts = [
        "# Benchmarks",
        "",
        "<!-- Generated by benchmarks/report.py from benchmarks/results/latest.json; do not edit. -->",
        "",
        "kafka-utils side by side with every peer on the same machine and the same local broker: "
        "confluent-kafka's synchronous client (the same librdkafka engine without asyncio), "
        "`confluent_kafka.aio`, aiokafka, kafka-python and Kafka's own Java perf tools. "
        "Every (client, case, run) runs in a fresh process; the figures are the median of "
        f"{results['runs']} runs, or of {results.get('brief_runs', results['runs'])} for "
        "the cases whose measured section lasts about a second (2, 3-k100, 3-k1000 and 4)"
        f"{' (quick mode: about a tenth of the records)' if results['quick'] else ''}.",
        "",
        "Reproduce with `make bench`, or `python benchmarks/run.py --bootstrap 127.0.0.1:29092` "
        "after `kafka-utils broker up --port 29092`; `benchmarks/README.md` describes each case "
        "and how fairness is kept.",
        "",
        "Where the time goes, and the measured cause of every target still missed: "
        "[Performance](performance.md).",
        "",
        "## Machine",
        "",
        "| | |",
        "|:---|:---|",
        f"| CPU | {machine['cpu']}, {machine['cores']} cores |",
        f"| RAM | {machine['ram_gib']} GiB |",
        f"| OS | {machine['os']} |",
        f"| Python | {machine['python']} |",
        f"| Java | {machine['java']} |",
        f"| Kafka broker | {versions['Kafka']} (one node, local) |",
        f"| librdkafka | {versions['librdkafka']} (confluent-kafka {versions['confluent-kafka']}) |",
        f"| aiokafka / kafka-python / uvloop | {versions['aiokafka']} / {versions['kafka-python']} / {versions['uvloop']} |",
        f"| Date | {machine['date']}, suite took {results['duration_s'] / 60:.0f} min |",
        f"| kafka-utils | {versions['kafka-utils']}, sources {_source_line(results)} |",
        "",
        "The machine is shared and noisy: compare rows of one run, not runs of different days.",
        "",
        "## Settings",
        "",
        *(f"- {line}" for line in results["settings"]),
        "",
        f"## Targets: {passed} of {len(results['targets'])} pass",
        "",
        "Verdicts are those of kafka-utils on asyncio (for producing: `produce()`); the other "
        "kafka-utils rows are listed beside them.",
        "",
        "| | target | measured | other kafka-utils rows |",
        "|:---|:---|---:|:---|",
        *(
            f"| {t['verdict']} | {t['target']} | {t['measured']} | "
            + "; ".join(
                f"{c['row'].removeprefix('kafka-utils ')}: {_value(c)} {c['verdict']}"
                for c in t["checks"]
                if c["row"] != _primary_label(t)
            )
            + " |"
            for t in results["targets"]
        ),
        "",
        "## Results",
        "",
        "![records per second and p99 latency per client](img/benchmarks.png)",
        "",
        "Columns: records/s and MB/s (record values) of the measured section; CPU seconds per "
        "million records of the client process, all threads; peak RSS of the client process; "
        "latency percentiles where the case measures them; `ku x` is kafka-utils' primary row "
        "divided by that row (records/s; for end-to-end latency, that row's p99 over kafka-utils'), "
        "above 1 where kafka-utils leads. `(capped)`: the row hit the time budget and its figures "
        "cover the records it got through.",
        "",
    ]
    for case in results["cases"]:
        parts += [
            f"### {case['id']}: {case['title']}",
            "",
            case["settings"],
            "",
            _markdown_table(case),
            "",
        ]
    path.write_text("\n".join(parts))


def _source_line(results: dict[str, Any]) -> str:
    source = results.get("source")
    if not source:
        return "not recorded"
    if source["at_start"] == source["at_end"]:
        return f"`{source['at_start']}` (unchanged during the run)"
    return f"`{source['at_start']}` at the start, `{source['at_end']}` at the end: they changed during the run"


def _primary_label(target: dict[str, Any]) -> str:
    primary = (
        "kafka-utils (asyncio) produce"
        if target["case"] in ("1", "2-none", "2-lz4")
        else "kafka-utils (asyncio)"
    )
    return primary


def main() -> None:
    results = with_ratios(json.loads((RESULTS / "latest.json").read_text()))
    write_json(results)
    print_table(results)
    write_chart(results)
    write_docs(results)


if __name__ == "__main__":
    main()
