"""The lifecycle every client goes through, and the checks that guard it."""

from __future__ import annotations

import enum

from kafka_utils.errors import ClientClosedError

__all__ = ["ClientState", "require_started"]


class ClientState(enum.Enum):
    """Where a client is in its life: created, started, closing, closed."""

    CREATED = "created"
    STARTED = "started"
    CLOSING = "closing"
    CLOSED = "closed"


def require_started(state: ClientState, client_name: str) -> None:
    """Raise `ClientClosedError` unless `state` is STARTED."""
    if state is ClientState.STARTED:
        return
    if state is ClientState.CREATED:
        raise ClientClosedError(
            f"{client_name} is not started: use 'async with' or await start() first"
        )
    raise ClientClosedError(f"{client_name} is {state.value}")
