from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from kafka_utils.broker._lease import STARTED_MARKER, leases_dir, prune_leases, shared


@dataclass(frozen=True)
class FakeStatus:
    running: bool


@dataclass
class FakeCluster:
    state_dir: Path
    running: bool = False
    calls: list[str] = field(default_factory=list)

    def status(self) -> FakeStatus:
        return FakeStatus(self.running)

    def up(self, timeout: float = 60.0) -> str:
        self.calls.append("up")
        self.running = True
        return "127.0.0.1:39092"

    def down(self, timeout: float = 15.0) -> bool:
        self.calls.append("down")
        was_running, self.running = self.running, False
        return was_running


def test_the_lease_folder_sits_beside_the_state_folder(tmp_path: Path) -> None:
    assert leases_dir(tmp_path / "39092") == tmp_path / "39092.leases"


def test_a_cluster_started_by_a_lease_is_stopped_when_it_ends(tmp_path: Path) -> None:
    cluster = FakeCluster(tmp_path / "39092")

    with shared(cluster, timeout=5) as bootstrap:
        assert bootstrap == "127.0.0.1:39092"
        assert cluster.running

    assert cluster.calls == ["up", "down"]
    assert not (leases_dir(cluster.state_dir) / STARTED_MARKER).exists()


def test_a_cluster_started_by_hand_is_never_stopped(tmp_path: Path) -> None:
    cluster = FakeCluster(tmp_path / "39092", running=True)

    with shared(cluster, timeout=5):
        pass

    assert cluster.calls == ["up"]
    assert cluster.running


def test_the_last_user_out_stops_the_cluster(tmp_path: Path) -> None:
    cluster = FakeCluster(tmp_path / "39092")

    first = shared(cluster, timeout=5)
    second = shared(cluster, timeout=5)
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)

    assert cluster.running

    second.__exit__(None, None, None)

    assert not cluster.running
    assert cluster.calls == ["up", "up", "down"]


def test_a_joiner_that_outlives_the_starter_still_stops_it(tmp_path: Path) -> None:
    cluster = FakeCluster(tmp_path / "39092")

    with shared(cluster, timeout=5):
        with shared(cluster, timeout=5):
            pass
        assert cluster.running

    assert not cluster.running


def test_leases_of_dead_processes_are_pruned(tmp_path: Path) -> None:
    (tmp_path / "123-aaaaaaaa.lease").touch()
    (tmp_path / f"{os.getpid()}-bbbbbbbb.lease").touch()
    (tmp_path / "garbage.lease").touch()

    remaining = prune_leases(tmp_path, lambda pid: pid == os.getpid())

    assert [lease.name for lease in remaining] == [f"{os.getpid()}-bbbbbbbb.lease"]
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        f"{os.getpid()}-bbbbbbbb.lease"
    ]


def test_a_crashed_user_does_not_keep_the_cluster_alive(tmp_path: Path) -> None:
    cluster = FakeCluster(tmp_path / "39092")
    directory = leases_dir(cluster.state_dir)
    directory.mkdir()
    (directory / "999999999-deadbeef.lease").touch()

    with shared(cluster, timeout=5):
        pass

    assert cluster.calls == ["up", "down"]
