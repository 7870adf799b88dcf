"""Sharing one local cluster between processes, stopped when the last one leaves.

Each user holds a lease file `<pid>-<token>.lease` in `<state_dir>.leases/`; the
marker file `started-by-lease` says a user (not a person at a terminal) started the
cluster. Leases of processes that died without leaving are pruned, so a crashed test
run does not keep the cluster alive forever.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from kafka_utils.broker._locks import file_lock

__all__ = ["leases_dir", "prune_leases", "shared"]

logger = logging.getLogger(__name__)

STARTED_MARKER = "started-by-lease"
LEASE_SUFFIX = ".lease"


class _Status(Protocol):
    @property
    def running(self) -> bool: ...


class _Cluster(Protocol):
    """The part of `LocalCluster` leases rely on."""

    @property
    def state_dir(self) -> Path: ...

    def status(self) -> _Status: ...

    def up(self, timeout: float = ...) -> str: ...

    def down(self, timeout: float = ...) -> bool: ...


def leases_dir(state_dir: Path) -> Path:
    """Return the lease folder of the cluster whose state lives in `state_dir`.

    It sits beside the state folder because `down()` deletes the state folder.
    """
    return state_dir.with_name(f"{state_dir.name}.leases")


def prune_leases(directory: Path, is_alive: Callable[[int], bool]) -> list[Path]:
    """Delete the leases of processes that are gone; return the remaining ones.

    Args:
        directory: the lease folder.
        is_alive: whether the process with this pid still runs.
    """
    remaining = []
    for lease in sorted(directory.glob(f"*{LEASE_SUFFIX}")):
        pid_text = lease.name.split("-", 1)[0]
        if pid_text.isdigit() and is_alive(int(pid_text)):
            remaining.append(lease)
        else:
            logger.debug("removing the lease of a finished process: %s", lease.name)
            lease.unlink(missing_ok=True)
    return remaining


@contextmanager
def shared(cluster: _Cluster, timeout: float) -> Iterator[str]:
    """Start or join `cluster`; stop it on exit if last out and started by a lease.

    Args:
        cluster: the cluster to share.
        timeout: passed to `cluster.up`.

    Yields:
        The bootstrap servers.
    """
    directory = leases_dir(cluster.state_dir)
    directory.mkdir(parents=True, exist_ok=True)
    lock = directory / ".lock"
    marker = directory / STARTED_MARKER
    lease = directory / f"{os.getpid()}-{uuid.uuid4().hex[:8]}{LEASE_SUFFIX}"

    with file_lock(lock, waiting_message="waiting for another user of the cluster"):
        prune_leases(directory, _pid_alive)
        was_running = cluster.status().running
        bootstrap = cluster.up(timeout)
        if not was_running:
            marker.touch()
        lease.touch()

    try:
        yield bootstrap
    finally:
        with file_lock(lock):
            lease.unlink(missing_ok=True)
            others = prune_leases(directory, _pid_alive)
            if not others and marker.exists():
                cluster.down()
                marker.unlink(missing_ok=True)
            elif others:
                logger.debug("leaving Kafka running for %d other user(s)", len(others))


def _pid_alive(pid: int) -> bool:
    """True when a process with this pid exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
