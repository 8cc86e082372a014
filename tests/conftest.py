"""Shared fixtures: a real mosquitto per test, and paths to the shared recordings."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.broker import Mosquitto

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def mosquitto(tmp_path: Path):
    """A fresh broker on a free port: `.host`, `.port`, `.url`, `.stop()`, `.start()`."""
    broker = Mosquitto(tmp_path / "broker").start()
    yield broker
    broker.stop()


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared recordings not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
async def pg_dsn():
    """A fresh PostgreSQL database (random name, dropped after the test)."""
    from tests.support.pg import temp_database
    async for dsn in temp_database():
        yield dsn


@pytest.fixture
def nats_cluster(tmp_path: Path):
    """Three NATS nodes with JetStream and MQTT listeners: `.nodes`, `.urls`."""
    from tests.support.nats_cluster import NatsCluster
    cluster = NatsCluster(tmp_path / "nats").start()
    yield cluster
    cluster.stop()
