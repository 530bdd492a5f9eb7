"""The Linux bundle: its size unpacked and compressed, and the frozen app's start to first paint beside the
same app run from source, measured in the same run.

Sizes come from the packages `make package` built (build/bundle/paygo-desktop, dist/*.tar.gz, dist/*.deb);
goals: <= 200 MB unpacked, <= 90 MB compressed. Start-up reuses benchmarks/startup.py's method: each
process prints the time from its own start (/proc/self/stat) to the end of its first paint, and
`--self-test` exits once the first screen is ready. Frozen and source runs alternate, warm (files in the
page cache) and cold: before a cold run the app's own files (the bundle's; or the interpreter's standard
library, the virtual environment and this checkout's package) are dropped from the page cache with
posix_fadvise(DONTNEED), so they are read from disk again. System libraries and fonts stay cached for
both. Goal: the frozen app's cold first paint <= 2 s. Prints Markdown for docs/performance.md.

    make package && python benchmarks/bundle.py [--runs 5]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = ROOT / "build" / "bundle" / "paygo-desktop"
DIST = ROOT / "dist"
MB = 1_000_000


def startup_module():  # benchmarks/ is not a package: load startup.py by path, to reuse its run()
    spec = importlib.util.spec_from_file_location("startup_benchmark", Path(__file__).with_name("startup.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tree_bytes(root: Path) -> int:
    return sum(p.lstat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def files_under(*roots: Path) -> Iterator[Path]:
    for root in roots:
        if root.is_file():
            yield root
        elif root.is_dir():
            yield from (p for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def evict(paths: list[Path]) -> None:
    for path in paths:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def sizes() -> list[tuple[str, float, str]]:
    if not BUNDLE.is_dir():
        raise SystemExit("no bundle: run `make package` first")
    rows = [("bundle, unpacked (build/bundle/paygo-desktop)", tree_bytes(BUNDLE) / MB, "≤ 200 MB")]
    for pattern, label in (
        ("paygo-desktop-*.tar.gz", ".tar.gz (gzip -9)"),
        ("paygo-desktop_*.deb", ".deb (xz -6)"),
    ):
        for path in sorted(DIST.glob(pattern)):
            rows.append((f"{label}: {path.name}", path.stat().st_size / MB, "≤ 90 MB"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    startup = startup_module()
    data = tempfile.mkdtemp(prefix="paygo-bundle-bench-")
    frozen = [str(BUNDLE / "paygo-desktop"), "--self-test", "--data-dir", data]
    source = [sys.executable, "-m", "paygo_desktop", "--self-test", "--data-dir", data]
    os.environ["PYTHONPATH"] = str(ROOT)  # the source run imports this checkout (the frozen app ignores it)
    frozen_files = list(files_under(BUNDLE))
    source_files = list(
        files_under(
            Path(sysconfig.get_paths()["stdlib"]),
            Path(sysconfig.get_paths()["purelib"]),
            Path(sysconfig.get_paths()["platlib"]),
            ROOT / "paygo_desktop",
            ROOT / "resources",
            Path(sys.executable).resolve(),
            *Path(sysconfig.get_config_var("LIBDIR") or "/nonexistent").glob("libpython3*.so*"),
        )
    )
    env = dict(os.environ)
    for argv in (frozen, source):  # first runs make the data directory; later ones open its store
        startup.run(argv, env)
    results: dict[str, list[dict[str, float]]] = {
        k: [] for k in ("frozen warm", "source warm", "frozen cold", "source cold")
    }
    for _ in range(args.runs):
        results["frozen warm"].append(startup.run(frozen, env))
        results["source warm"].append(startup.run(source, env))
        evict(frozen_files)
        results["frozen cold"].append(startup.run(frozen, env))
        evict(source_files)
        results["source cold"].append(startup.run(source, env))

    print(f"runs: {args.runs} of each, alternating, {os.cpu_count()} cores\n")
    print("| package | size | goal |")
    print("|---|---:|---|")
    for label, size, goal in sizes():
        print(f"| {label} | {size:.1f} MB | {goal} |")
    print("\n| start | first paint, median | best | worst | ready, median | RSS at first paint |")
    print("|---|---|---|---|---|---|")
    for name in ("source warm", "frozen warm", "source cold", "frozen cold"):
        runs = results[name]
        paint = [r["paint"] for r in runs]
        label = f"{name.split()[0]} ({name.split()[1]})" + (
            " — baseline" if name.startswith("source") else ""
        )
        print(
            f"| {label} | {statistics.median(paint):.2f} s | {min(paint):.2f} s | {max(paint):.2f} s "
            f"| {statistics.median(r['ready'] for r in runs):.2f} s "
            f"| {max(r['paint_rss'] for r in runs):.0f} MB |"
        )
    cold = statistics.median(r["paint"] for r in results["frozen cold"])
    print(f"\nfrozen cold first paint {cold:.2f} s (goal ≤ 2 s)")


if __name__ == "__main__":
    main()
