"""Inter-process file locks, so concurrent callers share one download or broker."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kafka_utils.errors import LocalBrokerError

__all__ = ["file_lock"]

logger = logging.getLogger(__name__)


@contextmanager
def file_lock(path: Path, *, waiting_message: str | None = None) -> Iterator[None]:
    """Hold an exclusive `flock` on `path` for the duration of the block.

    The lock is released by the kernel if the process dies, so a crash never leaves
    it held. Each call opens its own descriptor, so it serialises processes
    (pytest-xdist workers, two terminals) and threads alike; it is not re-entrant.

    Args:
        path: the lock file; created if missing, never deleted (deleting a lock
            file another process holds would let a third process lock a new file).
        waiting_message: logged at INFO when another process holds the lock, so a
            long wait is explained.

    Raises:
        LocalBrokerError: the platform has no `fcntl` (Windows).
    """
    # Imported here so that importing the package (and the pytest plugin) works on
    # Windows; only using the local broker needs a POSIX system.
    try:
        import fcntl
    except ImportError:
        raise LocalBrokerError(
            "the local Kafka broker needs Linux or macOS (fcntl file locks)"
        ) from None

    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        # Try without blocking first, only to say why we are about to wait.
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting_message is not None:
                logger.info(waiting_message)
            fcntl.flock(descriptor, fcntl.LOCK_EX)

        yield
    finally:
        # Closing the descriptor releases the lock.
        os.close(descriptor)
