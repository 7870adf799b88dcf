"""Process and socket helpers: is a pid our broker, is a port free, stop a JVM."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

__all__ = [
    "BROKER_MAIN_CLASS",
    "cmdline_is_broker",
    "is_broker_process",
    "port_accepts",
    "port_is_free",
    "stop_processes",
    "tail",
]

logger = logging.getLogger(__name__)

BROKER_MAIN_CLASS = "kafka.Kafka"

_PROC = Path("/proc")


def cmdline_is_broker(cmdline: bytes, properties: Path) -> bool:
    """True when a `/proc/<pid>/cmdline` is a broker started with `properties`.

    Args:
        cmdline: the NUL-separated arguments of the process.
        properties: the node's `server.properties`, passed as the broker's argument.
    """
    arguments = [part.decode(errors="replace") for part in cmdline.split(b"\0")]
    return BROKER_MAIN_CLASS in arguments and str(properties) in arguments


def is_broker_process(pid: int, properties: Path) -> bool:
    """True when `pid` is alive and is the broker started with `properties`.

    The command line is checked so that a pid reused by an unrelated process after
    the broker died is not mistaken for the broker (and never signalled).
    """
    if pid <= 0:
        return False

    # Reap the pid if it is an exited child of ours, so it is not a zombie.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)

    if not _PROC.is_dir():
        return _ps_says_broker(pid, properties)

    # An empty command line belongs to a process inside execve() (its arguments
    # appear a moment later: a vfork parent resumes first) or to an exiting one.
    # An exiting JVM's main thread is a zombie while its other threads are still
    # torn down: it is gone only once it is the last one (then it can be reaped).
    exiting = False
    for _ in range(50):
        directory = _PROC / str(pid)
        try:
            cmdline = (directory / "cmdline").read_bytes()
            if cmdline:
                return cmdline_is_broker(cmdline, properties)
            state = (directory / "stat").read_bytes().rpartition(b")")[2].split()
            threads = len(os.listdir(directory / "task"))
        except (FileNotFoundError, ProcessLookupError):
            return False
        exiting = state[:1] in ([b"Z"], [b"X"])
        if exiting and threads <= 1:
            return False
        time.sleep(0.01)
    return exiting


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when a listening socket could be bound to `host:port` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # SO_REUSEADDR as the JVM sets it, so a port in TIME_WAIT after a broker
        # stopped counts as free; a listening socket still makes bind() fail.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def port_accepts(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    """True when a TCP connection to `host:port` succeeds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def stop_processes(
    pids: Iterable[tuple[int, Path]], timeout: float, *, kill_now: bool = False
) -> list[int]:
    """Stop brokers: SIGTERM, then SIGKILL those still alive after `timeout`.

    Only pids that are still the broker started with the given properties file are
    signalled. Returns once every one of them is gone.

    Args:
        pids: the pid of each broker with its `server.properties`.
        timeout: seconds to wait for a clean shutdown before SIGKILL.
        kill_now: send SIGKILL at once (used after a failed start).

    Returns:
        The pids that were running and have been stopped.
    """
    running = [(pid, path) for pid, path in pids if is_broker_process(pid, path)]
    if not running:
        return []

    if kill_now:
        for pid, _ in running:
            _signal(pid, signal.SIGKILL)
        remaining = _wait_gone(running, 10.0)
    else:
        for pid, _ in running:
            _signal(pid, signal.SIGTERM)
        remaining = _wait_gone(running, timeout)

        if remaining:
            logger.warning(
                "broker pids %s ignored SIGTERM for %.0f s; sending SIGKILL",
                ", ".join(str(pid) for pid, _ in remaining),
                timeout,
            )
            for pid, _ in remaining:
                _signal(pid, signal.SIGKILL)
            remaining = _wait_gone(remaining, 10.0)

    if remaining:
        logger.error(
            "broker pids %s survived SIGKILL",
            ", ".join(str(pid) for pid, _ in remaining),
        )
    return [pid for pid, _ in running]


def tail(path: Path, lines: int) -> str:
    """Return the last `lines` lines of a text file ("" if it does not exist)."""
    if lines <= 0:
        return ""

    try:
        with path.open("rb") as file:
            # Read blocks backwards from the end until enough newlines are seen,
            # so a large broker.log is not read whole.
            end = file.seek(0, os.SEEK_END)
            position = end
            data = b""
            while position > 0 and data.count(b"\n") <= lines:
                step = min(65536, position)
                position -= step
                file.seek(position)
                data = file.read(step) + data
    except FileNotFoundError:
        return ""

    text = data.decode(errors="replace")
    return "\n".join(text.splitlines()[-lines:])


def _signal(pid: int, signum: signal.Signals) -> None:
    """Send a signal, ignoring a process that is already gone."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def _wait_gone(
    processes: list[tuple[int, Path]], timeout: float
) -> list[tuple[int, Path]]:
    """Wait up to `timeout` for the processes to exit; return those still alive."""
    deadline = time.monotonic() + timeout
    remaining = processes
    while True:
        remaining = [
            (pid, path) for pid, path in remaining if is_broker_process(pid, path)
        ]
        if not remaining or time.monotonic() >= deadline:
            return remaining
        time.sleep(0.05)


def _ps_says_broker(pid: int, properties: Path) -> bool:
    """The `/proc`-less check (macOS): the command line as `ps` prints it."""
    try:
        completed = subprocess.run(
            ["ps", "-ww", "-o", "command=", "-p", str(pid)],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    words = completed.stdout.split()
    return BROKER_MAIN_CLASS in words and str(properties) in completed.stdout
