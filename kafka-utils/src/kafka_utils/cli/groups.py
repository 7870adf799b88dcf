"""`kafka-utils groups`: consumer groups, their lag, and offset resets.

```
kafka-utils groups list
kafka-utils groups describe GROUP
kafka-utils groups delete GROUP [--yes]
kafka-utils groups lag GROUP [--topic T ...]
kafka-utils groups reset-offsets GROUP --topic T
    (--to earliest|latest|OFFSET | --to-datetime ISO-8601 | --shift N)
    [--partition P ...] [--execute]
```

`reset-offsets` prints the plan and changes nothing unless `--execute` is given.
Each command takes `--bootstrap-servers` (env KAFKA_BOOTSTRAP_SERVERS) and calls
`AsyncAdmin`.
"""

from __future__ import annotations

from datetime import datetime

import click
from rich.markup import escape

from kafka_utils._records import ResetTarget, Shift
from kafka_utils.cli._admin import bootstrap_option, connect_admin, new_table, stdout
from kafka_utils.cli._errors import handle_errors

__all__ = ["groups"]


@click.group()
def groups() -> None:
    """Inspect consumer groups, their lag, and move their offsets."""


@groups.command("list")
@bootstrap_option
@handle_errors
async def list_groups(bootstrap_servers: str | None) -> None:
    """List the consumer groups with their state and protocol type."""
    async with connect_admin(bootstrap_servers) as admin:
        listings = await admin.list_groups()

    table = new_table("group", "state", "type")
    for listing in listings:
        table.add_row(escape(listing.group_id), listing.state, listing.type)
    stdout().print(table)


@groups.command()
@bootstrap_option
@click.argument("group")
@handle_errors
async def describe(bootstrap_servers: str | None, group: str) -> None:
    """Show the state, coordinator and members of GROUP."""
    async with connect_admin(bootstrap_servers) as admin:
        info = await admin.describe_group(group)

    console = stdout()
    console.print(
        f"group [bold]{escape(info.group_id)}[/]: {info.state}, {info.type}, "
        f"assignor {info.assignor or '-'}, coordinator {info.coordinator}"
    )
    if not info.members:
        console.print("no active members")
        return

    table = new_table("member", "client id", "host", "partitions")
    for member in info.members:
        partitions = ", ".join(
            f"{tp.topic}[{tp.partition}]" for tp in member.assignment
        )
        table.add_row(
            escape(member.member_id),
            escape(member.client_id),
            escape(member.host),
            escape(partitions) or "-",
        )
    console.print(table)


@groups.command()
@bootstrap_option
@click.argument("group")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@handle_errors
async def delete(bootstrap_servers: str | None, group: str, yes: bool) -> None:
    """Delete GROUP and its committed offsets (it must have no members)."""
    if not yes:
        click.confirm(f"Delete consumer group {group} and its offsets?", abort=True)

    async with connect_admin(bootstrap_servers) as admin:
        await admin.delete_group(group)

    click.echo(f"Deleted consumer group {group}", err=True)


@groups.command()
@bootstrap_option
@click.argument("group")
@click.option(
    "--topic",
    "-t",
    "topics",
    multiple=True,
    help="Report this topic (repeatable); default: the topics GROUP committed to.",
)
@handle_errors
async def lag(
    bootstrap_servers: str | None, group: str, topics: tuple[str, ...]
) -> None:
    """Show, per partition, how many records GROUP has still to read."""
    async with connect_admin(bootstrap_servers) as admin:
        rows = await admin.lag(group, topics or None)

    table = new_table("topic", "partition", "committed", "end offset", "lag")
    for row in rows:
        table.add_row(
            row.topic,
            str(row.partition),
            "-" if row.committed_offset is None else str(row.committed_offset),
            str(row.high_watermark),
            str(row.lag),
        )
    table.caption = f"total lag: {sum(row.lag for row in rows)}"
    table.caption_justify = "left"
    stdout().print(table)


@groups.command("reset-offsets")
@bootstrap_option
@click.argument("group")
@click.option("--topic", "-t", required=True, help="The topic whose offsets move.")
@click.option(
    "--to",
    "to_position",
    metavar="earliest|latest|OFFSET",
    help="Move to the first or the next record, or to an offset.",
)
@click.option(
    "--to-datetime",
    type=datetime.fromisoformat,
    metavar="ISO-8601",
    help="Move to the first record at or after this time "
    "(e.g. 2024-05-01T12:00:00+00:00; local time without an offset).",
)
@click.option(
    "--shift",
    type=int,
    metavar="N",
    help="Move by N records from the committed offset; negative re-reads.",
)
@click.option(
    "--partition",
    "-p",
    "partitions",
    type=click.IntRange(min=0),
    multiple=True,
    help="Move only this partition (repeatable); default: all.",
)
@click.option(
    "--execute", is_flag=True, help="Apply the plan; without it, nothing changes."
)
@handle_errors
async def reset_offsets(
    bootstrap_servers: str | None,
    group: str,
    topic: str,
    to_position: str | None,
    to_datetime: datetime | None,
    shift: int | None,
    partitions: tuple[int, ...],
    execute: bool,
) -> None:
    """Plan, or with --execute apply, a move of GROUP's offsets on a topic.

    New offsets are kept between each partition's earliest and latest offsets.
    Applying needs the group to have no active member.
    """
    target = _reset_target(to_position, to_datetime, shift)
    async with connect_admin(bootstrap_servers) as admin:
        plan = await admin.reset_offsets(
            group, topic, target, partitions=partitions or None, dry_run=not execute
        )

    table = new_table("topic", "partition", "current offset", "new offset")
    for row in plan:
        current = "-" if row.current_offset is None else str(row.current_offset)
        table.add_row(row.topic, str(row.partition), current, str(row.new_offset))
    if execute:
        table.caption = f"applied to group {escape(group)}"
    else:
        table.caption = "dry run: nothing changed; add --execute to apply"
    table.caption_justify = "left"
    stdout().print(table)


def _reset_target(
    to_position: str | None, to_datetime: datetime | None, shift: int | None
) -> ResetTarget:
    """The one target given as --to, --to-datetime or --shift."""
    given = [value for value in (to_position, to_datetime, shift) if value is not None]
    if len(given) != 1:
        raise click.UsageError("give exactly one of --to, --to-datetime and --shift")

    if to_datetime is not None:
        return to_datetime
    if shift is not None:
        return Shift(shift)
    assert to_position is not None
    if to_position in ("earliest", "latest"):
        return "earliest" if to_position == "earliest" else "latest"
    if to_position.isdigit():
        return int(to_position)
    raise click.BadParameter(
        f"{to_position!r} is not earliest, latest or an offset", param_hint="--to"
    )
