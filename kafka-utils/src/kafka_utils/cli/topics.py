"""`kafka-utils topics`: list, create, describe, alter and delete topics.

```
kafka-utils topics list [--internal]
kafka-utils topics create NAME [--partitions N] [--replication-factor N]
                               [--config KEY=VALUE ...]
kafka-utils topics describe NAME [--all-configs]
kafka-utils topics alter-config NAME KEY=VALUE [KEY=VALUE ...]
kafka-utils topics delete NAME [--yes]
```

Each command takes `--bootstrap-servers` (env KAFKA_BOOTSTRAP_SERVERS) and calls
`AsyncAdmin`.
"""

from __future__ import annotations

import click

from kafka_utils.cli._admin import bootstrap_option, connect_admin, new_table, stdout
from kafka_utils.cli._errors import handle_errors

__all__ = ["topics"]


def _parse_configs(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> dict[str, str]:
    """Turn `KEY=VALUE` arguments into a dict; click callback."""
    configs: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r} is not of the form KEY=VALUE")
        configs[key.strip()] = value
    return configs


@click.group()
def topics() -> None:
    """Create, inspect, alter and delete topics."""


@topics.command("list")
@bootstrap_option
@click.option("--internal", is_flag=True, help="Also list __consumer_offsets & co.")
@handle_errors
async def list_topics(bootstrap_servers: str | None, internal: bool) -> None:
    """List the cluster's topics."""
    async with connect_admin(bootstrap_servers) as admin:
        names = await admin.list_topics(include_internal=internal)

    table = new_table("topic")
    for name in names:
        table.add_row(name)
    stdout().print(table)


@topics.command()
@bootstrap_option
@click.argument("name")
@click.option(
    "--partitions", "-p", type=click.IntRange(min=1), default=1, show_default=True
)
@click.option(
    "--replication-factor",
    "-r",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
)
@click.option(
    "--config",
    "-c",
    "configs",
    multiple=True,
    metavar="KEY=VALUE",
    callback=_parse_configs,
    help="A topic config, e.g. cleanup.policy=compact; repeatable.",
)
@handle_errors
async def create(
    bootstrap_servers: str | None,
    name: str,
    partitions: int,
    replication_factor: int,
    configs: dict[str, str],
) -> None:
    """Create topic NAME and wait until its partitions have leaders."""
    async with connect_admin(bootstrap_servers) as admin:
        await admin.create_topic(name, partitions, replication_factor, configs)

    click.echo(
        f"Created topic {name} ({partitions} partition(s), replication factor "
        f"{replication_factor})",
        err=True,
    )


@topics.command()
@bootstrap_option
@click.argument("name")
@click.option(
    "--all-configs", is_flag=True, help="Show every config, defaults included."
)
@handle_errors
async def describe(bootstrap_servers: str | None, name: str, all_configs: bool) -> None:
    """Show the partitions (leader, replicas, ISR) and configs of topic NAME."""
    async with connect_admin(bootstrap_servers) as admin:
        info = await admin.describe_topic(name, all_configs=all_configs)

    partitions = new_table(
        "partition", "leader", "replicas", "in-sync replicas", title=f"topic {name}"
    )
    for partition in info.partitions:
        partitions.add_row(
            str(partition.partition),
            str(partition.leader),
            ", ".join(map(str, partition.replicas)),
            ", ".join(map(str, partition.isr)),
        )
    configs = new_table(
        "config",
        "value",
        title="configs" if all_configs else "configs (non-default)",
    )
    for key, value in info.configs.items():
        configs.add_row(key, "(sensitive)" if value is None else str(value))

    console = stdout()
    console.print(partitions)
    console.print(configs)


@topics.command("alter-config")
@bootstrap_option
@click.argument("name")
@click.argument(
    "configs", nargs=-1, required=True, metavar="KEY=VALUE...", callback=_parse_configs
)
@handle_errors
async def alter_config(
    bootstrap_servers: str | None, name: str, configs: dict[str, str]
) -> None:
    """Set configs of topic NAME; the configs not given keep their values."""
    async with connect_admin(bootstrap_servers) as admin:
        await admin.alter_topic_config(name, configs)

    click.echo(f"Altered topic {name}: {', '.join(sorted(configs))}", err=True)


@topics.command()
@bootstrap_option
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@handle_errors
async def delete(bootstrap_servers: str | None, name: str, yes: bool) -> None:
    """Delete topic NAME and all its records."""
    if not yes:
        click.confirm(f"Delete topic {name} and all its records?", abort=True)

    async with connect_admin(bootstrap_servers) as admin:
        await admin.delete_topic(name)

    click.echo(f"Deleted topic {name}", err=True)
