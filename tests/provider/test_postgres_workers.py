"""Several provider workers on one PostgreSQL database (a private cluster started by the tests), in front of
anvil: they share one channel's sessions, one of them dies mid-session, one is stalled past a session's
deadline, two claimers race; and one worker at a time leads.

The workers are the real ``paygo-provider serve --workers 2`` (provider.workers) over loopback. Which
worker a connection reaches is the kernel's choice, so the tests open connections until they hold one to
each (``/health`` names the worker that answers).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text

from paygo_desktop.protocol import models as m
from paygo_desktop.protocol import routes
from paygo_desktop.provider.claimer import Claimer
from paygo_desktop.provider.leader import LEADER_KEY, Coordinator
from paygo_desktop.provider.store import ChannelRow, ClaimRow, Store
from tests.chain import jobs_support
from tests.chain.jobs_support import Jobs
from tests.provider.conftest import Env, _free_port, make_config, voucher

pytestmark = pytest.mark.slow
jobs = jobs_support.jobs  # PayGoJobs beside the vault on the chain tests' anvil (its fixtures)
_jobs_address = jobs_support._jobs_address
ROOT = Path(__file__).resolve().parents[2]
SVC = "market-data-feed"  # 1000 base units of USDC per second, tick 5 s, grace 5 s
TICK_COST = 5000


@dataclass
class Workers:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def pids(self) -> dict[int, int]:
        """slot -> pid of the live workers (from /proc: the supervisor's children and their --slot)."""
        found: dict[int, int] = {}
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        for child in children:
            with contextlib.suppress(OSError):
                argv = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
                if b"--slot" in argv:
                    found[int(argv[argv.index(b"--slot") + 1])] = int(child)
        return found

    def client(self, slot: int) -> httpx.Client:
        """A client holding one kept-alive connection to worker ``slot`` (which may still be starting)."""
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline:
            c = httpx.Client(base_url=self.url, timeout=15, limits=httpx.Limits(max_connections=1))
            try:
                if c.get(routes.HEALTH).json()["load"]["worker"] == slot:
                    return c
            except httpx.HTTPError:
                pass
            c.close()
        raise AssertionError(f"no connection reached worker {slot}; log: {self.log.read_text()[-3000:]}")


def write_config(env: Env, tmp_path: Path, port: int, **overrides: Any) -> Path:
    config = make_config(env, tmp_path, port, **overrides)
    data = config.model_dump(mode="json", exclude_none=True)
    data["private_key"] = config.private_key.get_secret_value() if config.private_key else None
    path = tmp_path / "provider.json"
    path.write_text(json.dumps(data))
    return path


@contextlib.contextmanager
def workers(env: Env, tmp_path: Path, pg_url: str, count: int = 2, **overrides: Any) -> Iterator[Workers]:
    port = _free_port()
    config = write_config(env, tmp_path, port, **overrides)
    log = tmp_path / "workers.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "paygo_desktop.provider.server", "serve"),
                *("--config", str(config), "--database", pg_url),
                *("--workers", str(count), "--port", str(port)),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    running = Workers(f"http://127.0.0.1:{port}", proc, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()[-3000:]
            try:
                health = httpx.get(running.url + routes.HEALTH, timeout=5).json()
                if health["status"] == "ok" and health["load"]["workers"] >= count:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.1)
        while len(running.pids()) < count:
            time.sleep(0.05)
        yield running
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def funded(env: Env, amount: int = 100 * TICK_COST) -> Any:
    ch = env.channel(token=env.usdc, salt=os.urandom(32), withdraw_delay=4000)
    env.run(env.vault.fund(env.payer, ch, amount))
    return ch


def start_body(env: Env, ch: Any, service: str = SVC, amount: int = TICK_COST) -> dict[str, Any]:
    return {
        "serviceId": service,
        "channel": m.ChannelParams.from_channel(ch).model_dump(mode="json", by_alias=True),
        "voucher": {"cumulativeAmount": str(amount), "signature": "0x" + voucher(env, ch, amount).hex()},
    }


def voucher_body(env: Env, ch: Any, seq: int, amount: int) -> dict[str, Any]:
    return {"seq": seq, "cumulativeAmount": str(amount), "signature": "0x" + voucher(env, ch, amount).hex()}


def send_together(path: str, body: dict[str, Any], clients: tuple[httpx.Client, ...]) -> list[int]:
    """POST ``body`` through every client at the same moment; the status codes."""
    barrier = threading.Barrier(len(clients))
    codes: list[int] = []

    def send(client: httpx.Client) -> None:
        barrier.wait()
        codes.append(client.post(path, json=body).status_code)

    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return codes


def test_two_workers_share_one_channels_sessions(env: Env, tmp_path: Path, pg_url: str) -> None:
    with workers(env, tmp_path, pg_url) as w:
        c0, c1 = w.client(0), w.client(1)
        leaders = [c.get(routes.HEALTH).json()["load"]["leader"] for c in (c0, c1)]
        assert sorted(leaders) == [False, True]  # one leader for the claims and the expiry sweep
        ch = funded(env)
        started = c0.post(routes.STREAM_START, json=start_body(env, ch))
        assert started.status_code == 201, started.text
        sid = started.json()["sessionId"]
        path = routes.STREAM_VOUCHERS.format(session_id=sid)
        # within the first second up to one tick and one second may be signed: small steps, both workers
        amount = TICK_COST
        for seq in range(1, 5):
            amount += 1
            r = (c1 if seq % 2 else c0).post(path, json=voucher_body(env, ch, seq, amount))
            assert r.status_code == 200, r.text
        # the same voucher through both workers at once: the database lets exactly one through
        for seq in range(5, 15):
            amount += 1
            codes = send_together(path, voucher_body(env, ch, seq, amount), (c0, c1))
            assert sorted(codes) == [200, 409], (seq, codes)
        info = c1.get(routes.STREAM.format(session_id=sid)).json()
        assert info["status"] == "live" and info["seq"] == 14 and info["cumulativeAmount"] == str(amount)
        token = started.json()["access"]["token"]
        stopped = c1.patch(
            routes.STREAM_STOP.format(session_id=sid), headers={"Authorization": f"Bearer {token}"}
        )
        assert stopped.status_code == 200, stopped.text
        assert stopped.json()["receipt"]["finalCumulative"] == str(amount)
        channel = c0.get(routes.CHANNEL.format(channel_id="0x" + ch.id.hex())).json()
        assert (
            channel["lastVoucher"]["cumulativeAmount"] == str(amount) and channel["lastVoucher"]["seq"] == 14
        )
        c0.close()
        c1.close()


def test_a_worker_killed_mid_session_leaves_the_session_to_the_other(
    env: Env, tmp_path: Path, pg_url: str
) -> None:
    # a slow service (60 s ticks, 60 s grace): the supervisor's restart below may take seconds on a loaded
    # machine, and this test is about a worker's death, not about a payer falling behind (rightly expired)
    seed = tmp_path / "catalog.json"
    seed.write_text(
        json.dumps(
            [
                {
                    **{"id": "slow-feed", "name": "Slow feed", "description": "60 s ticks"},
                    **{"category": "data", "type": "data", "isActive": True},
                    "rate": {"amount": "1000", "asset": "USDC", "unit": "per_second"},
                    **{"tickSeconds": 60, "graceSeconds": 60},
                }
            ]
        )
    )
    tick = 60 * 1000
    with workers(env, tmp_path, pg_url, catalog_seed=str(seed)) as w:
        c0 = w.client(0)
        ch = funded(env, 10 * tick)
        started = c0.post(routes.STREAM_START, json=start_body(env, ch, "slow-feed", tick))
        assert started.status_code == 201, started.text
        path = routes.STREAM_VOUCHERS.format(session_id=started.json()["sessionId"])
        assert c0.post(path, json=voucher_body(env, ch, 1, tick + 1)).status_code == 200
        old = w.pids()[0]
        os.kill(old, signal.SIGKILL)  # mid-session, while its connection is open
        with pytest.raises(httpx.HTTPError):
            c0.post(path, json=voucher_body(env, ch, 2, tick + 2))
        c0.close()
        with httpx.Client(base_url=w.url, timeout=15) as fresh:  # the payer reconnects
            r = fresh.post(path, json=voucher_body(env, ch, 2, tick + 2))
            assert r.status_code == 200, r.text
            assert r.json()["seq"] == 2
        deadline = time.monotonic() + 30  # and the supervisor starts another worker 0
        while w.pids().get(0) in (None, old):
            assert time.monotonic() < deadline, w.log.read_text()[-3000:]
            time.sleep(0.1)
        again = w.client(0)
        r = again.post(path, json=voucher_body(env, ch, 3, tick + 3))
        assert r.status_code == 200, r.text
        again.close()


def test_a_stalled_worker_expires_no_paying_session_and_refuses_new_ones(
    env: Env, tmp_path: Path, pg_url: str
) -> None:
    seed = tmp_path / "catalog.json"
    seed.write_text(
        json.dumps(
            [
                {
                    **{"id": "quick-feed", "name": "Quick feed", "description": "2 s ticks"},
                    **{"category": "data", "type": "data", "isActive": True},
                    "rate": {"amount": "1000", "asset": "USDC", "unit": "per_second"},
                    **{"tickSeconds": 2, "graceSeconds": 1},
                }
            ]
        )
    )
    with workers(env, tmp_path, pg_url, catalog_seed=str(seed), overload_delay=1.0, overload_hold=5) as w:
        clients = {slot: w.client(slot) for slot in (0, 1)}
        slow = next(s for s, c in clients.items() if not c.get(routes.HEALTH).json()["load"]["leader"])
        c = clients[slow]  # the expiry sweep runs in the other worker, which goes on
        ch = funded(env)
        late_comer = funded(env)  # funded now: its refusal below must come within the hold
        # a loaded machine may have made the workers' own start look like overload: wait for calm
        calm_by = time.monotonic() + 15
        while not c.get(routes.HEALTH).json()["acceptingSessions"]:
            assert time.monotonic() < calm_by, "the worker sheds new sessions before any overload"
            time.sleep(0.2)
        started = c.post(routes.STREAM_START, json=start_body(env, ch, "quick-feed", 2000))
        assert started.status_code == 201, started.text
        t0 = time.time()  # served until t0 + 2 s, late after t0 + 3 s
        sid = started.json()["sessionId"]
        pid = w.pids()[slow]
        time.sleep(1.8)
        os.kill(pid, signal.SIGSTOP)
        answer: list[httpx.Response] = []
        sender = threading.Thread(
            target=lambda: answer.append(
                c.post(routes.STREAM_VOUCHERS.format(session_id=sid), json=voucher_body(env, ch, 1, 4000))
            )
        )
        time.sleep(max(0.0, t0 + 2.05 - time.time()))
        sender.start()  # on time, into the stalled worker's connection
        time.sleep(max(0.0, t0 + 4.0 - time.time()))  # a second past the deadline
        os.kill(pid, signal.SIGCONT)
        sender.join(timeout=30)
        assert answer and answer[0].status_code == 200, (
            answer[0].text if answer else "",
            w.log.read_text()[-4000:],
        )
        other = clients[1 - slow]
        info = other.get(routes.STREAM.format(session_id=sid)).json()
        assert info["status"] == "live" and info["cumulativeAmount"] == "4000"
        # the stalled worker knows it was late: it refuses new sessions for a while, and says so
        refused = c.post(routes.STREAM_START, json=start_body(env, late_comer, "quick-feed", 2000))
        assert refused.status_code == 503 and refused.json()["code"] == "busy", refused.text
        assert 1 <= int(refused.headers["retry-after"]) <= 5
        assert c.get(routes.HEALTH).json()["acceptingSessions"] is False
        for client in clients.values():
            client.close()


def claimable_channels(env: Env, store: Store, count: int) -> list[Any]:
    """``count`` funded channels, each with a voucher held in ``store`` above what was claimed."""
    channels = []
    with store.tx() as db:
        for _ in range(count):
            ch = funded(env, 10 * TICK_COST)
            db.add(
                ChannelRow(
                    id="0x" + ch.id.hex(),
                    payer=ch.payer,
                    signer=ch.signer,
                    provider=ch.provider,
                    token=ch.token,
                    withdraw_delay=ch.withdraw_delay,
                    salt="0x" + ch.salt.hex(),
                    last_cumulative=str(3 * TICK_COST),
                    last_signature="0x" + voucher(env, ch, 3 * TICK_COST).hex(),
                    last_seq=3,
                    claimed_cumulative="0",
                )
            )
            channels.append(ch)
    return channels


def test_a_nonce_and_a_refusal_are_recorded_once_on_postgres(env: Env, pg_url: str) -> None:
    """``INSERT … ON CONFLICT DO NOTHING`` says whether it inserted (psycopg's rowcount of it is -1: every
    signed request was refused as a reused nonce)."""
    store = Store(pg_url)
    try:
        now = int(time.time())
        assert store.use_nonce("freshnonce1", env.payer.address, now + 300, now) == "ok"
        assert store.use_nonce("freshnonce2", env.payer.address, now + 300, now) == "ok"
        assert store.use_nonce("freshnonce1", env.payer.address, now + 300, now) == "reused"
        ch = env.channel(token=env.usdc, salt=os.urandom(32))
        assert store.refuse_channel(ch, 10, "InvalidSignature", now) is True
        assert store.refuse_channel(ch, 10, "InvalidSignature", now) is False
    finally:
        store.close()


def test_two_claimers_racing_claim_each_voucher_once(env: Env, pg_url: str) -> None:
    stores = [Store(pg_url), Store(pg_url)]  # two workers' stores and claim locks
    coordinators = [Coordinator(s) for s in stores]
    try:
        channels = claimable_channels(env, stores[0], 3)
        claimers = [
            Claimer(s, env.vault, env.provider, env.provider.address, lock=c.claim_lock)
            for s, c in zip(stores, coordinators, strict=True)
        ]

        async def race() -> list[tuple[str | None, list[str]]]:
            return list(await asyncio.gather(*(c.claim_pending() for c in claimers)))

        results = env.run(race())
        claimed = [cid for _, ids in results for cid in ids]
        assert sorted(claimed) == sorted("0x" + ch.id.hex() for ch in channels)  # each once, by one claimer
        with stores[1].tx() as db:
            assert db.scalar(select(func.count()).select_from(ClaimRow)) == 3
        for ch in channels:
            assert env.run(env.vault.channel_state(ch.id)).claimed == 3 * TICK_COST
    finally:
        for c in coordinators:
            c.close()
        for s in stores:
            s.close()


def test_one_worker_leads_another_takes_over_and_a_leader_without_its_database_steps_down(
    pg_url: str,
) -> None:
    stores = [Store(pg_url), Store(pg_url)]
    coordinators = [Coordinator(s) for s in stores]
    events: list[tuple[int, bool]] = []
    for i, c in enumerate(coordinators):
        c.on_change = lambda leader, i=i: events.append((i, leader))

    def leaders() -> list[int]:
        return [i for i, c in enumerate(coordinators) if c.is_leader]

    async def until(condition: Any, seconds: float = 6.0) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            assert time.monotonic() < deadline, events
            await asyncio.sleep(0.05)

    async def idle() -> None:
        await asyncio.Event().wait()

    async def scenario() -> None:
        tasks = [asyncio.create_task(c.run([idle])) for c in coordinators]
        try:
            await until(lambda: len(leaders()) == 1)
            await asyncio.sleep(1.5)  # the other tries again meanwhile, and fails
            assert len(leaders()) == 1
            first = leaders()[0]
            tasks[first].cancel()  # the leading worker dies: its connection, and its lock, go with it
            await asyncio.gather(tasks[first], return_exceptions=True)
            await until(lambda: leaders() == [1 - first])
            with stores[first].engine.connect() as conn:  # now the new leader loses its database session
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_locks "
                        "WHERE locktype = 'advisory' AND objid = :k AND granted"
                    ),
                    {"k": LEADER_KEY},
                )
            await until(lambda: (1 - first, False) in events)  # it stepped down...
            await until(lambda: leaders() == [1 - first])  # ...and, alone, leads again on a new connection
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    try:
        asyncio.run(scenario())
    finally:
        for c in coordinators:
            c.close()
        for s in stores:
            s.close()


def test_sessions_go_on_when_postgres_drops_every_connection(env: Env, tmp_path: Path, pg_url: str) -> None:
    """A database restart drops the provider's pooled connections: the next voucher is served on a new one."""
    from tests.provider.conftest import provider_server

    with provider_server(env, tmp_path, database=pg_url) as server, server.http() as http:
        ch = funded(env)
        started = http.post(routes.STREAM_START, json=start_body(env, ch))
        assert started.status_code == 201, started.text
        path = routes.STREAM_VOUCHERS.format(session_id=started.json()["sessionId"])
        server.clock.advance(1)  # the provider's clock is the tests' (one second more may be signed for)
        assert http.post(path, json=voucher_body(env, ch, 1, TICK_COST + 1)).status_code == 200
        with Store(pg_url, migrate=False).engine.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        for seq in (2, 3):
            r = http.post(path, json=voucher_body(env, ch, seq, TICK_COST + seq))
            assert r.status_code == 200, r.text


def test_only_the_leader_releases_delivered_jobs(env: Env, jobs: Jobs, tmp_path: Path, pg_url: str) -> None:
    """Two workers, one job past its review window: the leader alone runs the release rounds, and the
    release is sent once."""
    from paygo_desktop.chain.jobs import JobStatus
    from paygo_desktop.protocol.client import ProviderClient
    from paygo_desktop.protocol.jobs_client import JobsProviderClient
    from tests.provider.test_job_auto_release import chain_time_to, delivered_job, sent

    with workers(env, tmp_path, pg_url, jobs_contract=jobs.address, auto_release_interval=0.2) as w:
        leaders = {slot: w.client(slot).get(routes.HEALTH).json()["load"]["leader"] for slot in (0, 1)}
        assert sorted(leaders.values()) == [False, True]
        leader = next(slot for slot, leads in leaders.items() if leads)
        client = ProviderClient(w.url, timeout=15)
        try:
            info, job, ends = delivered_job(env, jobs, JobsProviderClient(client))
        finally:
            env.run(client.aclose())
        nonce0 = sent(env, env.provider.address)
        chain_time_to(env, ends + 1)
        deadline = time.monotonic() + 30
        while jobs.state(job).status is not JobStatus.RELEASED:
            assert time.monotonic() < deadline, w.log.read_text()[-3000:]
            time.sleep(0.05)
        time.sleep(1.0)  # a few more rounds: nothing more is sent
        assert sent(env, env.provider.address, "pending") == nonce0 + 1
        log = w.log.read_text().splitlines()
        rounds = [line for line in log if "releasing delivered jobs past their review window" in line]
        released = [line for line in log if f"release of job {info.job_id} sent" in line]
        assert len(rounds) == 1 and f"worker-{leader} " in rounds[0], rounds
        assert len(released) == 1 and f"worker-{leader} " in released[0], released
