"""`kafka-utils broker`: run a local Apache Kafka for development and tests.

```
kafka-utils broker up [--nodes 1|3] [--port 9092] [--timeout 60]
kafka-utils broker status [--port 9092]
kafka-utils broker logs [--port 9092] [--node N] [--lines 100] [--follow]
kafka-utils broker down [--port 9092]
```

`up` prints only the bootstrap servers on stdout, so it composes with the shell:
`export KAFKA_BOOTSTRAP_SERVERS=$(kafka-utils broker up)`. Progress goes to stderr.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, TypeVar

import click
from rich.console import Console
from rich.table import Table

from kafka_utils.broker import (
    DEFAULT_PORT,
    KAFKA_VERSION,
    ClusterStatus,
    LocalCluster,
    is_provisioned,
)
from kafka_utils.cli._errors import EXIT_FAILURE, handle_errors

__all__ = ["broker"]

F = TypeVar("F", bound=Callable[..., object])


def _port_option(command: F) -> F:
    return click.option(
        "--port",
        "-p",
        type=int,
        default=DEFAULT_PORT,
        show_default=True,
        help="Client port of the first node; it names the cluster.",
    )(command)


@click.group()
def broker() -> None:
    """Run a local Apache Kafka (KRaft, no Docker) for development and tests."""


@broker.command()
@click.option(
    "--nodes",
    "-n",
    type=int,
    default=1,
    show_default=True,
    help="Number of nodes: 1, or 3 for a replicated cluster.",
)
@_port_option
@click.option(
    "--timeout",
    type=float,
    default=60.0,
    show_default=True,
    help="Seconds to wait for the nodes to be ready (the first download is extra).",
)
@handle_errors
def up(nodes: int, port: int, timeout: float) -> None:
    """Start the cluster (or reuse it) and print its bootstrap servers."""
    cluster = LocalCluster(nodes=nodes, port=port)
    current = cluster.status()
    if current.running and len(current.nodes) == nodes:
        click.echo(f"Kafka is already running on port {port}", err=True)
        click.echo(cluster.up(timeout=timeout))
        return

    if not is_provisioned(KAFKA_VERSION):
        click.echo(
            f"Downloading Kafka {KAFKA_VERSION} from Maven Central "
            "(once, about 30 s)...",
            err=True,
        )
    click.echo(
        f"Starting Kafka {KAFKA_VERSION}: {nodes} node(s) on port {port}...", err=True
    )
    started = time.monotonic()
    bootstrap = cluster.up(timeout=timeout)
    click.echo(f"Kafka is ready ({time.monotonic() - started:.1f} s)", err=True)
    click.echo(bootstrap)


@broker.command()
@_port_option
@click.option(
    "--timeout",
    type=float,
    default=15.0,
    show_default=True,
    help="Seconds to wait for a clean shutdown before killing the JVMs.",
)
@handle_errors
def down(port: int, timeout: float) -> None:
    """Stop the cluster and delete its data and logs."""
    if LocalCluster(port=port).down(timeout=timeout):
        click.echo(f"Stopped Kafka on port {port}", err=True)
    else:
        click.echo(f"No Kafka was running on port {port}", err=True)


@broker.command()
@_port_option
@handle_errors
def status(port: int) -> None:
    """Show whether the cluster runs, node by node; exit 1 if it does not."""
    report = LocalCluster(port=port).status()
    console = Console(highlight=False)
    if not report.nodes:
        console.print(f"No Kafka cluster on port {port}")
        raise click.exceptions.Exit(EXIT_FAILURE)

    console.print(_status_table(report))
    if not report.running:
        raise click.exceptions.Exit(EXIT_FAILURE)


@broker.command()
@_port_option
@click.option("--node", type=int, default=None, help="Node id (from 1); all if unset.")
@click.option(
    "--lines", "-n", type=int, default=100, show_default=True, help="Lines per node."
)
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines.")
@handle_errors
def logs(port: int, node: int | None, lines: int, follow: bool) -> None:
    """Print the last lines of the broker logs."""
    cluster = LocalCluster(port=port)
    click.echo(cluster.logs(node=node, lines=lines))
    if follow:
        ids = (
            [node]
            if node is not None
            else [entry.node_id for entry in cluster.status().nodes]
        )
        _follow({node_id: cluster.log_path(node_id) for node_id in ids})


def _status_table(report: ClusterStatus) -> Table:
    """A table of the nodes, titled with the cluster's overall state."""
    state = "[green]running[/]" if report.running else "[red]not running[/]"
    table = Table(
        title=f"Kafka {report.kafka_version} on port {report.port}: {state}",
        title_justify="left",
    )
    for column in ("node", "port", "controller", "pid", "state"):
        table.add_column(column)
    for node in report.nodes:
        table.add_row(
            str(node.node_id),
            str(node.port),
            str(node.controller_port),
            str(node.pid),
            "[green]alive[/]" if node.alive else "[red]down[/]",
        )
    table.caption = f"bootstrap: {report.bootstrap}"
    table.caption_justify = "left"
    return table


def _follow(paths: dict[int, Path]) -> None:
    """Print lines appended to the logs until Ctrl-C or until the files go away."""
    files: dict[int, IO[str]] = {}
    try:
        for node_id, path in paths.items():
            opened = path.open(encoding="utf-8", errors="replace")
            opened.seek(0, 2)
            files[node_id] = opened

        prefix = len(files) > 1
        while all(path.exists() for path in paths.values()):
            idle = True
            for node_id, log in files.items():
                for line in log.readlines():
                    idle = False
                    click.echo(f"[node {node_id}] {line}" if prefix else line, nl=False)
            if idle:
                time.sleep(0.25)
        click.echo("The logs were removed (the cluster was stopped).", err=True)
    except KeyboardInterrupt:
        pass
    finally:
        for log in files.values():
            log.close()
