"""The lifecycle every client goes through, and the checks that guard it."""

from __future__ import annotations

import enum
from types import TracebackType
from typing import Self

from kafka_utils.errors import ClientClosedError

__all__ = ["ClientLifecycle", "ClientState", "require_started"]


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


class ClientLifecycle:
    """What every client shares: its state, and `async with` for start and close.

    Subclasses set `_state` and implement `start()` and `close()`; `start()` must
    raise from any state but CREATED (use `require_created`), `close()` must be
    safe to call twice.
    """

    _state: ClientState

    @property
    def state(self) -> ClientState:
        """The lifecycle state: created, started, closing or closed."""
        return self._state

    async def start(self) -> None:
        """Start the client; see the subclass."""
        raise NotImplementedError

    async def close(self) -> None:
        """Close the client; see the subclass."""
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def require_created(self) -> None:
        """Raise `ClientClosedError` unless the client was never started."""
        if self._state is not ClientState.CREATED:
            raise ClientClosedError(
                f"{type(self).__name__} cannot start: it is {self._state.value}"
            )
