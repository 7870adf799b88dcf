"""Serializers for record keys and values.

A serializer turns a Python object into the bytes Kafka stores and back. Producers and
consumers take one for keys and one for values; the default passes bytes through
untouched. Four codecs ship: `BytesSerializer`, `StringSerializer`, `JsonSerializer`
(orjson) and `PydanticSerializer`. Anything with the two methods of `Serializer` can be
plugged in.

A serializer raises `SerializationError` on bad input. The clients add the topic, and
on the consumer side the partition and offset, to the error they report.
"""

from __future__ import annotations

from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

import orjson
from pydantic import BaseModel, ValidationError

from kafka_utils.errors import SerializationError

__all__ = [
    "BytesSerializer",
    "JsonSerializer",
    "PydanticSerializer",
    "Serializer",
    "StringSerializer",
]

T = TypeVar("T")
ModelT = TypeVar("ModelT", bound=BaseModel)


@runtime_checkable
class Serializer(Protocol[T]):
    """Converts between Python objects of type `T` and record bytes."""

    def serialize(self, value: T) -> bytes:
        """Return the bytes to store for `value`."""
        ...

    def deserialize(self, data: bytes) -> T:
        """Return the object that `data` encodes."""
        ...


class BytesSerializer:
    """Passes `bytes` (and `bytearray`, `memoryview`) through untouched."""

    def serialize(self, value: bytes | bytearray | memoryview) -> bytes:
        """Return `value` itself, after checking it is bytes-like."""
        if isinstance(value, bytes):
            return value
        if isinstance(value, bytearray | memoryview):
            return bytes(value)
        raise SerializationError(
            f"expected bytes, got {type(value).__name__}; "
            "pass a serializer for other types"
        )

    def deserialize(self, data: bytes) -> bytes:
        """Return `data` itself."""
        return data


class StringSerializer:
    """Encodes `str` with a text encoding (UTF-8 by default)."""

    def __init__(self, encoding: str = "utf-8") -> None:
        self.encoding = encoding

    def serialize(self, value: str) -> bytes:
        """Encode `value`."""
        if not isinstance(value, str):
            raise SerializationError(f"expected str, got {type(value).__name__}")
        return value.encode(self.encoding)

    def deserialize(self, data: bytes) -> str:
        """Decode `data`."""
        try:
            return data.decode(self.encoding)
        except UnicodeDecodeError as error:
            raise SerializationError(f"not valid {self.encoding}: {error}") from None


class JsonSerializer:
    """Encodes JSON-compatible objects with orjson.

    dataclasses, datetimes, UUIDs and numpy arrays are encoded natively by orjson;
    other types raise `SerializationError`.
    """

    def serialize(self, value: Any) -> bytes:
        """Encode `value` as compact UTF-8 JSON."""
        try:
            return orjson.dumps(value)
        except TypeError as error:
            raise SerializationError(f"cannot encode as JSON: {error}") from None

    def deserialize(self, data: bytes) -> Any:
        """Decode JSON `data`."""
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as error:
            raise SerializationError(f"invalid JSON: {error}") from None


class PydanticSerializer(Generic[ModelT]):
    """Encodes instances of one pydantic model as JSON and validates on the way back."""

    def __init__(self, model: type[ModelT]) -> None:
        self.model = model

    def serialize(self, value: ModelT) -> bytes:
        """Encode `value`, which must be an instance of the model."""
        if not isinstance(value, self.model):
            raise SerializationError(
                f"expected {self.model.__name__}, got {type(value).__name__}"
            )
        return value.model_dump_json().encode()

    def deserialize(self, data: bytes) -> ModelT:
        """Validate `data` against the model."""
        try:
            return self.model.model_validate_json(data)
        except ValidationError as error:
            raise SerializationError(
                f"invalid {self.model.__name__}: {error.error_count()} error(s): "
                f"{error.errors()[0]['msg']} at {error.errors()[0]['loc']}"
            ) from None
