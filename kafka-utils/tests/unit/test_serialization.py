from __future__ import annotations

import pytest
from pydantic import BaseModel

from kafka_utils import (
    BytesSerializer,
    JsonSerializer,
    PydanticSerializer,
    SerializationError,
    Serializer,
    StringSerializer,
)


class Event(BaseModel):
    id: int
    name: str


def test_every_codec_satisfies_the_protocol() -> None:
    codecs = [
        BytesSerializer(),
        StringSerializer(),
        JsonSerializer(),
        PydanticSerializer(Event),
    ]
    assert all(isinstance(codec, Serializer) for codec in codecs)


def test_bytes_pass_through_and_other_types_are_refused() -> None:
    codec = BytesSerializer()
    assert codec.serialize(b"x") == b"x"
    assert codec.serialize(bytearray(b"y")) == b"y"
    with pytest.raises(SerializationError, match="expected bytes, got str"):
        codec.serialize("x")  # type: ignore[arg-type]


def test_strings_round_trip_and_bad_bytes_are_reported() -> None:
    codec = StringSerializer()
    assert codec.deserialize(codec.serialize("żółw")) == "żółw"
    with pytest.raises(SerializationError, match="utf-8"):
        codec.deserialize(b"\xff\xfe")


def test_json_round_trip_and_errors() -> None:
    codec = JsonSerializer()
    assert codec.deserialize(codec.serialize({"a": [1, 2]})) == {"a": [1, 2]}
    with pytest.raises(SerializationError, match="invalid JSON"):
        codec.deserialize(b"{not json")
    with pytest.raises(SerializationError, match="cannot encode"):
        codec.serialize({1, 2})


def test_pydantic_models_validate_on_the_way_back() -> None:
    codec = PydanticSerializer(Event)
    assert codec.deserialize(codec.serialize(Event(id=1, name="a"))) == Event(
        id=1, name="a"
    )
    with pytest.raises(SerializationError, match="invalid Event"):
        codec.deserialize(b'{"id": "x"}')
    with pytest.raises(SerializationError, match="expected Event"):
        codec.serialize({"id": 1})  # type: ignore[arg-type]
