from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from kafka_utils.broker import KAFKA_VERSION, cache_root, is_provisioned, provision
from kafka_utils.broker._provision import kafka_home, render_pom
from kafka_utils.errors import ConfigurationError, MavenNotFoundError, ProvisioningError

# A stand-in for mvn: writes the broker jar into -DoutputDirectory, or fails.
FAKE_MVN = """#!/bin/sh
for argument in "$@"; do
  case "$argument" in -DoutputDirectory=*) output="${argument#-DoutputDirectory=}";; esac
done
if [ -n "$FAIL" ]; then
  echo "[ERROR] line one"; echo "[ERROR] Could not resolve org.apache.kafka"; exit 1
fi
sleep "${DELAY:-0}"
touch "$output/kafka_2.13-$VERSION.jar" "$output/kafka-clients-$VERSION.jar"
echo "$output" >> "$CALLS"
"""


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KAFKA_UTILS_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def fake_mvn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    mvn = bin_dir / "mvn"
    mvn.write_text(FAKE_MVN)
    mvn.chmod(0o755)
    calls = tmp_path / "calls.txt"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin")
    monkeypatch.setenv("VERSION", KAFKA_VERSION)
    monkeypatch.setenv("CALLS", str(calls))
    return calls


def test_the_cache_folder_can_be_moved(cache: Path) -> None:
    assert cache_root() == cache
    assert kafka_home("4.4.0") == cache / "kafka-4.4.0"


def test_the_pom_lists_kafka_the_tools_and_log4j2_for_slf4j_1() -> None:
    pom = render_pom("4.4.0")

    assert "<artifactId>kafka_2.13</artifactId>\n      <version>4.4.0<" in pom
    assert "<artifactId>kafka-tools</artifactId>\n      <version>4.4.0<" in pom
    assert "<artifactId>log4j-slf4j-impl</artifactId>" in pom
    assert "<artifactId>log4j-core</artifactId>" in pom
    assert "<packaging>pom</packaging>" in pom


@pytest.mark.parametrize("version", ["3.9.0", "latest", "4.4", "4.4.0</version>"])
def test_only_kafka_4_releases_are_accepted(cache: Path, version: str) -> None:
    with pytest.raises(ConfigurationError, match="not supported"):
        provision(version)


def test_provisioning_renames_the_jars_into_place(cache: Path, fake_mvn: Path) -> None:
    libs = provision()

    assert libs == cache / f"kafka-{KAFKA_VERSION}" / "libs"
    assert (libs / f"kafka_2.13-{KAFKA_VERSION}.jar").is_file()
    assert (libs.parent / "pom.xml").is_file()
    assert [path.name for path in libs.parent.glob("libs.partial-*")] == []
    assert is_provisioned()


def test_a_cached_kafka_is_not_downloaded_again(cache: Path, fake_mvn: Path) -> None:
    provision()
    provision()

    assert len(fake_mvn.read_text().splitlines()) == 1


def test_an_interrupted_download_is_redone(cache: Path, fake_mvn: Path) -> None:
    home = kafka_home()
    (home / "libs.partial-1234").mkdir(parents=True)
    (home / "libs.partial-1234" / "half.jar").touch()

    libs = provision()

    assert (libs / f"kafka_2.13-{KAFKA_VERSION}.jar").is_file()
    assert not (home / "libs.partial-1234").exists()


def test_a_maven_failure_shows_its_last_lines(
    cache: Path, fake_mvn: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAIL", "1")

    with pytest.raises(ProvisioningError) as caught:
        provision()

    message = str(caught.value)
    assert message.startswith(f"could not resolve Kafka {KAFKA_VERSION} from Maven")
    assert "Could not resolve org.apache.kafka" in message
    assert not is_provisioned()
    assert list(kafka_home().glob("libs*")) == []


def test_missing_maven_matters_only_without_a_cache(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))

    with pytest.raises(MavenNotFoundError, match="`mvn` is not on PATH"):
        provision()

    libs = kafka_home() / "libs"
    libs.mkdir(parents=True)
    (libs / f"kafka_2.13-{KAFKA_VERSION}.jar").touch()

    assert provision() == libs


def test_concurrent_callers_share_one_download(
    cache: Path, fake_mvn: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DELAY", "0.3")

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: provision(), range(4)))

    assert len(set(results)) == 1
    assert len(fake_mvn.read_text().splitlines()) == 1
