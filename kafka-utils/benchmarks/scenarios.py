"""The scenarios of the benchmark suite, the client rows, and the shared settings.

Everything a child process needs to run one (client, case, run) travels in a `Spec`,
serialized to JSON on its command line, so a child never guesses a setting: every
client family maps the same neutral fields (acks, linger, batch bytes, compression,
idempotence) onto its own option names.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

# Settings every producer gets, whatever its own defaults (librdkafka's batch.size
# default is 1,000,000 bytes, Java's and aiokafka's 16 KiB, so nothing is left out).
BATCH_BYTES = 1_000_000
THROUGHPUT_LINGER_MS = 5
FETCH_MAX_BYTES = 52_428_800
PARTITION_FETCH_BYTES = 1_048_576
FETCH_MAX_WAIT_MS = 500
# librdkafka pauses fetching for fetch.queue.backoff.ms (default 1000) whenever its
# prefetch queue is over queued.min.messages (100,000), which caps a fast reader
# near 350,000 records/s on the reference machine; Java and aiokafka keep fetching.
# Every librdkafka-based consumer (kafka-utils included) gets this value.
FETCH_QUEUE_BACKOFF_MS = 10

# Fire-and-forget: at most this many records are unacknowledged at once.
FIRE_WINDOW = 50_000
# kafka-utils `send_batch` rows send chunks of this many records.
BATCH_CHUNK = 10_000
# Consume-process-produce: at most this many records relayed but not acknowledged.
RELAY_WINDOW = 1_000
# Consumers hand out (and batch APIs are asked for) this many records per call.
CONSUME_BATCH = 500

KINDS = ("produce", "awaited", "consume", "e2e", "relay")


@dataclass(frozen=True)
class Case:
    """One measured situation: a row group in the results table."""

    id: str
    scenario: int
    title: str
    kind: str
    records: int
    size: int
    partitions: int = 1
    acks: str = "all"
    idempotence: bool = True
    compression: str = "none"
    linger_ms: int = THROUGHPUT_LINGER_MS
    in_flight: int = 0
    consume_api: str = ""
    rate: int = 0
    duration_s: float = 0.0
    warmup: int = 0
    # The measured section lasts about a second: a busy moment of the shared machine
    # moves one run by a third, so these cases get more runs (`--brief-runs`).
    brief: bool = False

    @property
    def prefilled(self) -> bool:
        """Whether the case reads a topic the parent fills before the runs."""
        return self.kind in ("consume", "relay")

    def settings_line(self) -> str:
        """The producer settings of this case, as printed in the report."""
        if self.kind == "consume":
            return (
                f"fetch.max.bytes={FETCH_MAX_BYTES}, "
                f"max.partition.fetch.bytes={PARTITION_FETCH_BYTES}, "
                f"fetch.wait.max.ms={FETCH_MAX_WAIT_MS}, "
                f"librdkafka fetch.queue.backoff.ms={FETCH_QUEUE_BACKOFF_MS}, "
                f"{CONSUME_BATCH} records per batch call, no commits"
            )
        return (
            f"acks={self.acks}, idempotence={'on' if self.idempotence else 'off'}, "
            f"linger.ms={self.linger_ms}, batch.size={BATCH_BYTES}, "
            f"compression={self.compression}"
        )


@dataclass(frozen=True)
class Variant:
    """One client row: a client family, its event loop and the API it drives."""

    key: str
    label: str
    family: str
    loop: str = "asyncio"
    api: str = ""

    @property
    def is_ours(self) -> bool:
        """Rows of kafka-utils itself, compared against every peer."""
        return self.family == "kafka_utils_client"


@dataclass(frozen=True)
class Spec:
    """Everything one child process needs: the case, the row and the topics."""

    case: Case
    variant: Variant
    bootstrap: str
    topic: str
    out_topic: str = ""
    group: str = ""
    budget_s: float = 30.0
    java_libs: str = ""

    def to_json(self) -> str:
        """Serialize for the child's command line."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Spec:
        """The inverse of `to_json`."""
        raw: dict[str, Any] = json.loads(text)
        return cls(
            case=Case(**raw.pop("case")),
            variant=Variant(**raw.pop("variant")),
            **raw,
        )


def _ku(loop: str, api: str = "") -> Variant:
    suffix = f" {api}" if api else ""
    return Variant(
        key=f"kafka-utils/{loop}{'/' + api if api else ''}",
        label=f"kafka-utils ({loop}){suffix}",
        family="kafka_utils_client",
        loop=loop,
        api=api,
    )


CONFLUENT_SYNC = Variant("confluent-sync", "confluent-kafka (sync)", "confluent_sync")
CONFLUENT_AIO = Variant("confluent-aio", "confluent_kafka.aio", "confluent_aio")
AIOKAFKA = Variant("aiokafka", "aiokafka", "aiokafka_client")
KAFKA_PYTHON = Variant("kafka-python", "kafka-python (sync)", "kafka_python_client")
JAVA = Variant("java", "Java perf tools", "java_perf")
PEERS = (CONFLUENT_SYNC, CONFLUENT_AIO, AIOKAFKA, KAFKA_PYTHON)


def variants_for(case: Case) -> list[Variant]:
    """The rows measured for a case, kafka-utils first."""
    if case.kind == "produce":
        apis = ("produce", "send_nowait", "send_batch")
        ours = [_ku(loop, api) for loop in ("asyncio", "uvloop") for api in apis]
        return [*ours, *PEERS, JAVA]
    ours = [_ku("asyncio"), _ku("uvloop")]
    if case.kind == "consume" and case.consume_api == "batch":
        return [*ours, *PEERS, JAVA]
    return [*ours, *PEERS]


def all_cases(quick: bool) -> list[Case]:
    """Every case of the issue, scaled down about ten times with `quick`."""

    def n(full: int) -> int:
        return full // 10 if quick else full

    cases = [
        Case(
            "1",
            1,
            "Produce 1M x 100 B, 1 partition, acks=1, fire-and-forget",
            "produce",
            n(1_000_000),
            100,
            1,
            acks="1",
            idempotence=False,
            warmup=n(20_000),
        ),
    ]
    for codec in ("none", "lz4"):
        cases.append(
            Case(
                f"2-{codec}",
                2,
                f"Produce 300k x 1 KB, 4 partitions, acks=all, idempotent, {codec}",
                "produce",
                n(300_000),
                1000,
                4,
                compression=codec,
                warmup=n(6_000),
                brief=True,
            )
        )
    for k in (1, 100, 1000):
        # One record in flight costs a broker round trip each: 10,000 records give
        # p99.9 from 10 samples and keep the suite within its hour.
        count = 10_000 if k == 1 else 100_000
        cases.append(
            Case(
                f"3-k{k}",
                3,
                f"Awaited produce, {k} in flight, 100 B, linger 0",
                "awaited",
                n(count),
                100,
                1,
                linger_ms=0,
                in_flight=k,
                warmup=n(1_000),
                brief=k > 1,
            )
        )
    for count, size, parts, label in (
        (1_000_000, 100, 1, "1M x 100 B"),
        (300_000, 1000, 4, "300k x 1 KB"),
    ):
        for api in ("batch", "iter"):
            name = "batch API" if api == "batch" else "per-record iterator"
            cases.append(
                Case(
                    f"4-{size}b-{api}",
                    4,
                    f"Consume {label} from earliest, {name}",
                    "consume",
                    n(count),
                    size,
                    parts,
                    consume_api=api,
                    warmup=n(count // 50),
                    brief=True,
                )
            )
    for rate in (1_000, 10_000):
        cases.append(
            Case(
                f"5-r{rate}",
                5,
                f"End-to-end latency at {rate:,} records/s, linger 0",
                "e2e",
                0,
                100,
                1,
                linger_ms=0,
                rate=rate,
                duration_s=10.0 if quick else 30.0,
            )
        )
    cases.append(
        Case(
            "6",
            6,
            "Relay: consume, produce, store offsets; 4 partitions, 100 B",
            "relay",
            n(200_000),
            100,
            4,
            warmup=n(4_000),
        )
    )
    return cases


def fill_case(case: Case) -> Case:
    """The case the parent runs to fill a prefilled topic: a plain fast produce."""
    return replace(
        case,
        kind="produce",
        acks="1",
        idempotence=False,
        records=case.records + case.warmup,
        warmup=0,
    )


@dataclass
class Outcome:
    """What one child reported, or why it could not."""

    ok: bool
    figures: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
