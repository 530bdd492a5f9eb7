"""What one small commit to the app's store costs, as shipped (``synchronous=FULL``: the commit is on the
disk when it returns) beside the baseline it replaced (``NORMAL``: on the disk at the next checkpoint),
measured in the same run, alternating, on the same disk.

A commit is an account's label renamed through ``AccountRepository.rename`` on a real ``Store`` file (WAL):
the size of what the app commits before it acts (a voucher row, an x402 payment, a transaction). Printed:
the median and worst of ``--commits`` commits per round, for each setting, and the machine's load.

    python benchmarks/store_commit.py [--commits 300] [--rounds 3] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.machine import Load  # noqa: E402


def commit_times(directory: Path, synchronous: str, commits: int) -> list[float]:
    """Milliseconds of each of ``commits`` renames on a new store in ``directory`` at ``synchronous``."""
    from sqlalchemy import event, text

    from paygo_desktop.store import Store
    from paygo_desktop.store.accounts import AccountRecord, AccountRepository

    store = Store.open(Path(tempfile.mkdtemp(dir=directory)) / "paygo.sqlite3")

    @event.listens_for(store.engine, "connect")
    def _setting(dbapi_connection: object, _record: object) -> None:  # after the store's own pragmas
        dbapi_connection.execute(f"PRAGMA synchronous={synchronous}")  # type: ignore[attr-defined]

    store.engine.dispose()  # connections are made again, with the setting
    with store.engine.connect() as conn:
        shown = conn.execute(text("PRAGMA synchronous")).scalar()
    assert shown == {"NORMAL": 1, "FULL": 2}[synchronous], shown
    accounts = AccountRepository(store)
    address = "0x00000000000000000000000000000000000000b1"
    accounts.add(AccountRecord(address, "Main", "hd", "b1.json", 0))
    times = []
    for i in range(commits):
        started = time.perf_counter()
        accounts.rename(address, f"Main {i}")
        times.append((time.perf_counter() - started) * 1000)
    store.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    results: dict[str, list[float]] = {"NORMAL": [], "FULL": []}
    with Load() as load:
        for _ in range(args.rounds):
            for setting in ("NORMAL", "FULL"):
                results[setting] += commit_times(args.dir, setting, args.commits)
    print("| synchronous | commits | median | worst |\n|---|---:|---:|---:|")
    for setting, label in (("NORMAL", "NORMAL (before)"), ("FULL", "FULL (shipped)")):
        times = results[setting]
        print(f"| {label} | {len(times)} | {statistics.median(times):.2f} ms | {max(times):.2f} ms |")
    print(load.line())


if __name__ == "__main__":
    main()
