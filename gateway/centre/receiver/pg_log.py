"""The alarm log shared by redundant receivers: one PostgreSQL database.

WHY PostgreSQL, and why these statements: several receivers (each on its own broker
node) receive every alarm, any of them may die, and the centre must still keep exactly
one record per alarm, acknowledge only what is durably recorded, and show one
operator's acknowledgement at every desk. Each rule is one statement whose outcome
the database decides, so the receivers never need to talk to each other:

- `INSERT ... ON CONFLICT (id) DO NOTHING`: one row per alarm id, however many copies
  and receivers; the caller acknowledges only after this statement committed.
- an operator's ack is `UPDATE ... WHERE acked_by IS NULL` plus `pg_notify` in the same
  transaction: the first ack wins, and every receiver LISTENing hears of it at commit.
- a silent gateway is flagged overdue by a conditional `UPDATE ... WHERE
  overdue_flagged_at IS NULL`: exactly one receiver wins the row and reports it.

The LISTEN connection is supervised: PostgreSQL restarting, a failover or an
administrator's `pg_terminate_backend` ends it, and a receiver that stopped listening
would never again show another desk's ack. A task notices the loss (asyncpg's
termination callback, and a `SELECT 1` every few seconds for a silently dead line),
logs it, reconnects with backoff, LISTENs again, logs that, and replays the acks
committed while it was deaf (`acked_at` since the loss), so nothing is missed.

Driver: asyncpg. It is asyncio-native (the centre is an asyncio program), has
LISTEN/NOTIFY as plain callbacks, binary wheels without libpq, and is the fastest
PostgreSQL driver for Python; psycopg 3 would also do, with more moving parts
(libpq, its own async adapter) and nothing this needs in addition.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from gateway.task_cancel import cancel_and_wait

CLOSE_TIMEOUT_S = 3.0
log = logging.getLogger("safehome.centre.pg")
ACK_CHANNEL = "safehome_ack"
LISTEN_CHECK_S = 5.0       # the LISTEN connection is asked `SELECT 1` this often
RELISTEN_MIN_S = 0.5       # first reconnect after a loss; doubles up to RELISTEN_MAX_S
RELISTEN_MAX_S = 10.0
CATCH_UP_MARGIN_S = 5.0    # replay acks from this long before the loss (clock skew, commit lag)
LISTEN_APP = "safehome-listen"   # application_name of the LISTEN connection (pg_stat_activity)

SCHEMA = """
CREATE TABLE IF NOT EXISTS alarms (
    id          text PRIMARY KEY,
    gateway_id  text NOT NULL,
    site_id     text,
    seq         bigint,
    type        text,
    severity    text,
    contact_id  integer,
    occurred_at text,
    test        boolean NOT NULL DEFAULT false,
    text_fi     text,
    text_sv     text,
    text_en     text,
    payload     jsonb NOT NULL,
    received_at timestamptz NOT NULL,
    logged_by   text NOT NULL,
    acked_by    text,
    acked_at    timestamptz
);
CREATE INDEX IF NOT EXISTS alarms_unacked ON alarms (received_at) WHERE acked_by IS NULL;
CREATE INDEX IF NOT EXISTS alarms_acked_at ON alarms (acked_at) WHERE acked_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS gateways (
    gateway_id         text PRIMARY KEY,
    last_heartbeat     timestamptz NOT NULL,
    interval_s         double precision NOT NULL,
    overdue_flagged_at timestamptz,
    overdue_flagged_by text
);
CREATE TABLE IF NOT EXISTS overdue_log (
    gateway_id     text NOT NULL,
    flagged_at     timestamptz NOT NULL,
    flagged_by     text NOT NULL,
    last_heartbeat timestamptz NOT NULL,
    PRIMARY KEY (gateway_id, last_heartbeat)
);
"""


def _ts(unix: float) -> datetime:
    return datetime.fromtimestamp(unix, tz=UTC)


@dataclass(frozen=True)
class Recorded:
    """The outcome of recording one alarm: whether this receiver wrote the row, and the
    acknowledgement already in the database (from any receiver), if any."""

    inserted: bool
    acked_by: str | None
    acked_at: float | None


class PgAlarmLog:
    def __init__(self, dsn: str, receiver: str, *,
                 on_remote_ack: Callable[[str, str, float], None] | None = None) -> None:
        self.dsn = dsn
        self.receiver = receiver
        self.on_remote_ack = on_remote_ack
        self._pool: asyncpg.Pool | None = None
        self._listener: asyncpg.Connection | None = None
        self._listen_lost = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None
        self.relistens = 0         # how often the LISTEN connection was restored

    async def open(self) -> None:
        self._pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=4,
                                               command_timeout=10)
        # Several receivers may start at once: serialise the CREATEs.
        async with self._pool.acquire() as con, con.transaction():
            await con.execute("SELECT pg_advisory_xact_lock(7341001)")
            await con.execute(SCHEMA)
        await self._listen()
        self._supervisor = asyncio.create_task(self._keep_listening(), name="pg-listen")

    async def _listen(self) -> None:
        con = await asyncpg.connect(self.dsn, timeout=10, server_settings={
            "application_name": f"{LISTEN_APP} {self.receiver}"[:63]})
        try:
            self._listen_lost.clear()
            con.add_termination_listener(lambda _con: self._listen_lost.set())
            await con.add_listener(ACK_CHANNEL, self._notified)
        except BaseException:
            con.terminate()       # connected but not listening: not kept half-open
            raise
        self._listener = con

    async def _listening(self) -> bool:
        """Whether the LISTEN connection is alive: closed shows at once, a dead line only
        when asked."""
        con = self._listener
        if con is None or con.is_closed() or self._listen_lost.is_set():
            return False
        try:
            await con.fetchval("SELECT 1", timeout=LISTEN_CHECK_S)
        except Exception:  # noqa: BLE001 - asyncpg's own errors, OSError, TimeoutError
            return False
        return True

    async def _keep_listening(self) -> None:
        """Owned by open()/close(): restores LISTEN after every loss, and says so."""
        while True:
            try:
                await asyncio.wait_for(self._listen_lost.wait(), LISTEN_CHECK_S)
            except TimeoutError:
                pass
            if await self._listening():
                continue
            lost_at = time.time()
            log.warning("shared alarm log: the LISTEN %s connection was lost; acks from other "
                        "receivers are not seen until it is back; reconnecting", ACK_CHANNEL)
            old, self._listener = self._listener, None
            if old is not None:
                old.terminate()
            delay = RELISTEN_MIN_S
            while True:
                await asyncio.sleep(delay)
                try:
                    await self._listen()
                    break
                except Exception as exc:  # noqa: BLE001 - the server is still away
                    delay = min(RELISTEN_MAX_S, delay * 2)
                    log.warning("shared alarm log: LISTEN %s not restored (%s); again in %.1f s",
                                ACK_CHANNEL, exc, delay)
            self.relistens += 1
            missed = await self._catch_up(lost_at - CATCH_UP_MARGIN_S)
            log.info("shared alarm log: LISTEN %s restored after %.1f s; %d ack(s) committed "
                     "meanwhile replayed", ACK_CHANNEL, time.time() - lost_at, missed)

    async def _catch_up(self, since: float) -> int:
        """Acks committed while nobody here listened, handed to `on_remote_ack` (which
        ignores what it already shows)."""
        if self.on_remote_ack is None:
            return 0
        try:
            got = await self.pool.fetch(
                "SELECT id, acked_by, acked_at FROM alarms WHERE acked_at >= $1", _ts(since))
        except Exception as exc:  # noqa: BLE001 - logged; the next loss tries again
            log.warning("shared alarm log: could not replay the acks missed while not "
                        "listening: %s", exc)
            return 0
        for row in got:
            try:
                self.on_remote_ack(row["id"], row["acked_by"], row["acked_at"].timestamp())
            except Exception:  # noqa: BLE001 - one row's trouble must not stop the supervisor
                log.exception("shared alarm log: replaying the ack of %s failed", row["id"])
        return len(got)

    async def close(self, timeout: float = CLOSE_TIMEOUT_S) -> None:
        """Close gracefully within `timeout`, then terminate: a receiver asked to stop must
        stop even when PostgreSQL (or a query still holding a connection) does not answer;
        everything it acknowledged was committed before the ack went out."""
        if self._supervisor is not None:
            supervisor, self._supervisor = self._supervisor, None
            await cancel_and_wait([supervisor])
        if self._listener is not None:
            listener, self._listener = self._listener, None
            try:
                await listener.close(timeout=timeout)
            except Exception:  # noqa: BLE001 - a hung or broken socket: drop it
                listener.terminate()
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                await asyncio.wait_for(pool.close(), timeout)
            except Exception:  # noqa: BLE001 - TimeoutError or asyncpg's own errors
                log.warning("shared alarm log did not close in %.0f s; connections dropped",
                            timeout)
                pool.terminate()

    def _notified(self, con: Any, pid: int, channel: str, raw: str) -> None:
        try:
            body = json.loads(raw)
            if body.get("receiver") != self.receiver and self.on_remote_ack is not None:
                self.on_remote_ack(str(body["id"]), str(body["by"]), float(body["at"]))
        except (ValueError, KeyError, TypeError):
            log.warning("malformed ack notification ignored: %r", raw)

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("PgAlarmLog.open() first")
        return self._pool

    # -- alarms -----------------------------------------------------------------------------
    async def record(self, payload: Mapping[str, Any], gateway_id: str, received_at: float,
                     acked_by: str | None = None) -> Recorded:
        """Insert the alarm unless its id is there; committed when this returns. With
        `acked_by` (auto-ack) the row is born acknowledged."""
        text = payload.get("text") or {}
        seq = payload.get("seq")
        contact = (payload.get("code") or {}).get("contact_id")
        async with self.pool.acquire() as con:
            row = await con.fetchrow(
                "INSERT INTO alarms (id, gateway_id, site_id, seq, type, severity, contact_id,"
                " occurred_at, test, text_fi, text_sv, text_en, payload, received_at, logged_by,"
                " acked_by, acked_at)"
                " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13::jsonb,$14,$15,$16,$17)"
                " ON CONFLICT (id) DO NOTHING RETURNING acked_by",
                str(payload["id"]), gateway_id, payload.get("site_id"),
                seq if isinstance(seq, int) else None, payload.get("type"),
                payload.get("severity"), contact if isinstance(contact, int) else None,
                payload.get("occurred_at"), bool(payload.get("test")), text.get("fi"),
                text.get("sv"), text.get("en"), json.dumps(payload, ensure_ascii=False),
                _ts(received_at), self.receiver, acked_by,
                _ts(received_at) if acked_by else None)
            if row is not None:
                return Recorded(True, acked_by, received_at if acked_by else None)
            if acked_by is not None:
                # Logged by another receiver; auto-ack it unless someone already has.
                await self.ack(str(payload["id"]), acked_by, received_at, con=con)
            got = await con.fetchrow("SELECT acked_by, acked_at FROM alarms WHERE id = $1",
                                     str(payload["id"]))
        assert got is not None
        at = got["acked_at"].timestamp() if got["acked_at"] is not None else None
        return Recorded(False, got["acked_by"], at)

    async def ack(self, alarm_id: str, by: str, at: float,
                  con: asyncpg.Connection | None = None) -> bool:
        """The first acknowledgement wins; True when it was this one. Every receiver is
        told at commit (NOTIFY is delivered only if the transaction commits)."""
        async def run(c: asyncpg.Connection) -> bool:
            async with c.transaction():
                done = await c.fetchval(
                    "UPDATE alarms SET acked_by = $2, acked_at = $3 WHERE id = $1 AND acked_by IS NULL"
                    " RETURNING id", alarm_id, by, _ts(at))
                if done is not None:
                    await c.execute("SELECT pg_notify($1, $2)", ACK_CHANNEL, json.dumps(
                        {"id": alarm_id, "by": by, "at": at, "receiver": self.receiver}))
            return done is not None
        if con is not None:
            return await run(con)
        async with self.pool.acquire() as c:
            return await run(c)

    async def acked(self, alarm_id: str) -> tuple[str, float] | None:
        row = await self.pool.fetchrow("SELECT acked_by, acked_at FROM alarms WHERE id = $1",
                                       alarm_id)
        if row is None or row["acked_by"] is None:
            return None
        return row["acked_by"], row["acked_at"].timestamp()

    async def count(self) -> int:
        return int(await self.pool.fetchval("SELECT count(*) FROM alarms"))

    # -- supervision ----------------------------------------------------------------------
    async def heartbeats(self, seen: Mapping[str, tuple[float, float]]) -> None:
        """Record the latest heartbeat per gateway (`{id: (unix time, interval)}`), in one
        statement. A newer heartbeat clears an overdue flag."""
        if not seen:
            return
        ids = list(seen)
        await self.pool.execute(
            "INSERT INTO gateways (gateway_id, last_heartbeat, interval_s)"
            " SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::float8[])"
            " ON CONFLICT (gateway_id) DO UPDATE SET"
            " last_heartbeat = GREATEST(gateways.last_heartbeat, excluded.last_heartbeat),"
            " interval_s = excluded.interval_s,"
            " overdue_flagged_at = CASE WHEN excluded.last_heartbeat > gateways.overdue_flagged_at"
            "   THEN NULL ELSE gateways.overdue_flagged_at END,"
            " overdue_flagged_by = CASE WHEN excluded.last_heartbeat > gateways.overdue_flagged_at"
            "   THEN NULL ELSE gateways.overdue_flagged_by END",
            ids, [_ts(seen[i][0]) for i in ids], [seen[i][1] for i in ids])

    async def flag_overdue(self, gateway_id: str, factor: float) -> bool:
        """Flag the gateway overdue if nobody has and its last heartbeat (from any
        receiver) is older than `factor` intervals. True only for the one receiver that
        wins; it reports the gateway, the others stay quiet."""
        async with self.pool.acquire() as con, con.transaction():
            row = await con.fetchrow(
                "UPDATE gateways SET overdue_flagged_at = now(), overdue_flagged_by = $2"
                " WHERE gateway_id = $1 AND overdue_flagged_at IS NULL"
                " AND last_heartbeat < now() - make_interval(secs => interval_s * $3)"
                " RETURNING last_heartbeat", gateway_id, self.receiver, factor)
            if row is None:
                return False
            await con.execute(
                "INSERT INTO overdue_log (gateway_id, flagged_at, flagged_by, last_heartbeat)"
                " VALUES ($1, now(), $2, $3) ON CONFLICT DO NOTHING",
                gateway_id, self.receiver, row["last_heartbeat"])
        return True
