"""A throwaway PostgreSQL database for a test, on the local server (127.0.0.1:5432,
trust auth). Created with a random name, dropped afterwards; skipped when no server."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import asyncpg

HOST = os.environ.get("SAFEHOME_TEST_PGHOST", "127.0.0.1")
PORT = int(os.environ.get("SAFEHOME_TEST_PGPORT", "5432"))
USERS = ("postgres", "root")


async def _admin() -> tuple[asyncpg.Connection, str] | None:
    for user in USERS:
        try:
            return await asyncpg.connect(host=HOST, port=PORT, user=user, database="postgres",
                                         timeout=3), user
        except (TimeoutError, OSError, asyncpg.PostgresError):
            continue
    return None


async def temp_database() -> AsyncIterator[str]:
    """Yield the DSN of a new, empty database; drop it afterwards."""
    import pytest

    got = await _admin()
    if got is None:
        pytest.skip(f"no PostgreSQL server with trust auth at {HOST}:{PORT}")
    admin, user = got
    name = f"safehome_test_{uuid.uuid4().hex[:12]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://{user}@{HOST}:{PORT}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
