"""Start a built PayGo Desktop the way a user's machine would, offscreen, and check that it works.

    python packaging/smoke_test.py build/bundle/paygo-desktop/paygo-desktop    # the bundle
    python packaging/smoke_test.py --deb dist/paygo-desktop_<version>_<arch>.deb  # the .deb

The first runs the bundle's executable. The second unpacks the .deb into a throwaway root (``dpkg -x``),
checks its layout (launcher on PATH, .desktop entry, hicolor icons, control file) and runs the installed
launcher, ``<root>/usr/bin/paygo-desktop``. Checks, each in a fresh data directory:
  - ``--version`` names the version of this source tree;
  - ``--self-test`` paints, builds the first screen and then opens the store behind it (SQLAlchemy and
    the store's models from the bundle), twice (a new store, then the existing one);
  - ``--screenshot`` renders every page (each page's imports: pyqtgraph, segno... load from the bundle);
  - ``sandbox`` starts the embedded EVM node and the reference provider as child processes of the frozen
    app (``-m`` through packaging/entry.py), deploys the vault from the bundled artifacts, answers on
    loopback, and stops on Ctrl-C with exit 0.
The .deb's launcher skips the screenshots (the same files as the bundle's).
Uses only the standard library: it must not import what it is testing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = ("home", "services", "sessions", "escrow", "zcash", "activity", "vendor", "settings")
SANDBOX_START_SECONDS = 150
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class SmokeFailure(Exception):
    pass


def source_version() -> str:
    text = (ROOT / "paygo_desktop" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"', text, re.MULTILINE)
    if match is None:
        raise SmokeFailure("no __version__ in paygo_desktop/__init__.py")
    return match[1]


def clean_env() -> dict[str, str]:
    """The user's environment: offscreen Qt, and nothing that would let the bundle borrow this checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "PAYGO_"))}
    env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def run(argv: list[str], timeout: float = 90) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        argv, env=clean_env(), capture_output=True, text=True, timeout=timeout, cwd=tempfile.gettempdir()
    )
    if result.returncode != 0:
        command = " ".join(argv[1:])
        output = f"{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
        raise SmokeFailure(f"{command} exited {result.returncode}\n{output}")
    return result


def check_version(exe: str, work: Path) -> str:
    out = run([exe, "--version"]).stdout.strip()
    expected = f"PayGo Desktop {source_version()}"
    if out != expected:
        raise SmokeFailure(f"--version said {out!r}, expected {expected!r}")
    return out


def check_self_test(exe: str, work: Path) -> str:
    data = work / "self-test"
    lines = []
    for attempt in ("new store", "existing store"):
        out = run([exe, "--self-test", "--data-dir", str(data)]).stdout
        if "ready after" not in out:
            raise SmokeFailure(f"--self-test ({attempt}) never said it was ready:\n{out}")
        if "store open after" not in out:  # opened behind the first screen, once it has painted
            raise SmokeFailure(f"--self-test ({attempt}) never said its store was open:\n{out}")
        ready = next(line for line in out.splitlines() if "ready after" in line)
        lines.append(f"{attempt}: {ready.strip()}; {out.strip().splitlines()[-1]}")
    if not (data / "paygo.sqlite3").is_file():
        raise SmokeFailure("--self-test left no database in its data directory")
    return "; ".join(lines)


def check_screenshots(exe: str, work: Path) -> str:
    data = work / "screenshots"
    for page in PAGES:
        target = work / f"{page}.png"
        run([exe, "--data-dir", str(data), "--screenshot", str(target), "--page", page])
        if not target.is_file() or target.read_bytes()[:8] != PNG_MAGIC or target.stat().st_size < 5_000:
            raise SmokeFailure(f"--screenshot --page {page} wrote no picture")
    # a page can render while a part of it failed (a chart whose native library did not load): the log says
    log = data / "logs" / "paygo-desktop.log"
    errors = [line for line in log.read_text(encoding="utf-8").splitlines() if " ERROR " in line]
    if errors:
        raise SmokeFailure(f"rendering the pages logged {len(errors)} error(s), the first: {errors[0]}")
    return f"{len(PAGES)} pages rendered, no error logged"


def check_deb_layout(root: Path) -> str:
    launcher = root / "usr" / "bin" / "paygo-desktop"
    if not launcher.is_symlink() or os.readlink(launcher).startswith("/"):
        raise SmokeFailure("usr/bin/paygo-desktop is not a relative link into /opt/paygo-desktop")
    if launcher.resolve() != (root / "opt" / "paygo-desktop" / "paygo-desktop").resolve():
        raise SmokeFailure(f"usr/bin/paygo-desktop points to {os.readlink(launcher)}")
    desktop = root / "usr" / "share" / "applications" / "paygo-desktop.desktop"
    entry = desktop.read_text(encoding="utf-8") if desktop.is_file() else ""
    for needed in ("Exec=paygo-desktop", "Icon=paygo-desktop", "Type=Application"):
        if needed not in entry.splitlines():
            raise SmokeFailure(f"the .desktop entry lacks {needed}")
    icons = root / "usr" / "share" / "icons" / "hicolor"
    expected = [icons / "scalable" / "apps" / "paygo-desktop.svg"]
    expected += [icons / f"{n}x{n}" / "apps" / "paygo-desktop.png" for n in (16, 32, 48, 128, 256)]
    absent = [str(path.relative_to(root)) for path in expected if not path.is_file()]
    if absent:
        raise SmokeFailure(f"icons missing: {absent}")
    count = len(list(icons.rglob("paygo-desktop.*")))
    return f"launcher -> {os.readlink(launcher)}, .desktop entry, {count} icons"


def unpack_deb(deb: Path, work: Path) -> tuple[Path, str]:
    """dpkg -x into a throwaway root; the control file's Package and Version lines."""
    root = work / "deb-root"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    command = ["dpkg-deb", "-f", str(deb), "Package", "Version", "Depends"]
    fields = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    if f"Version: {source_version()}" not in fields or "Package: paygo-desktop" not in fields:
        raise SmokeFailure(f"unexpected control fields:\n{fields}")
    return root, fields.splitlines()[1]


def get_json(url: str, body: dict[str, object] | None = None) -> object:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def check_sandbox(exe: str, work: Path) -> str:
    data = work / "sandbox"
    env = clean_env()
    env["PAYGO_SANDBOX_NODE"] = "embedded"  # the bundle's own EVM node, even where anvil is installed
    argv = [exe, "--data-dir", str(data), "sandbox", "--rpc-port", "0", "--provider-port", "0"]
    started = time.monotonic()
    proc = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tempfile.gettempdir()
    )
    try:
        assert proc.stdout is not None
        line = _read_line(proc, SANDBOX_START_SECONDS)
        try:
            ready = json.loads(line)
        except ValueError:
            raise SmokeFailure(f"sandbox said {line!r} instead of its ready line") from None
        if ready.get("status") != "ready":
            raise SmokeFailure(f"sandbox is not ready: {ready}")
        start_seconds = time.monotonic() - started
        rpc = {"jsonrpc": "2.0", "id": 1, "method": "eth_getCode", "params": [ready["vault"], "latest"]}
        code = get_json(ready["rpc"], rpc)
        if not isinstance(code, dict) or len(str(code.get("result", ""))) < 100:
            raise SmokeFailure(f"no vault contract at {ready['vault']}: {code}")
        health = get_json(ready["provider"] + "/api/v1/health")
        if not isinstance(health, dict) or health.get("status") != "ok":
            raise SmokeFailure(f"the sandbox provider is not healthy: {health}")
        services = get_json(ready["provider"] + "/api/v1/service")
        count = len(services.get("items", [])) if isinstance(services, dict) else 0
        if count == 0:
            raise SmokeFailure(f"the sandbox provider offers no services (demo catalog missing?): {services}")
        proc.send_signal(signal.SIGINT)
        code_at_exit = proc.wait(timeout=30)
        if code_at_exit != 0:
            err = proc.stderr.read() if proc.stderr else ""
            raise SmokeFailure(f"sandbox exited {code_at_exit} on Ctrl-C: {err[-2000:]}")
        started_in = f"ready after {start_seconds:.1f} s"
        postgres = check_postgres_refused(exe, data)
        return f"{started_in}, vault deployed, provider lists {count} services, Ctrl-C exit 0; {postgres}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        _dump_logs_on_failure(data)


def check_postgres_refused(exe: str, data: Path) -> str:
    """The bundle leaves psycopg out: `provider serve` with a postgresql:// database (on the sandbox's own
    provider config) must say so in one line, not fail inside SQLAlchemy."""
    config = data / "sandbox" / "provider.toml"
    database = "postgresql://vendor@127.0.0.1:1/paygo"
    serve = ["provider", "serve", "--config", str(config), "--database", database]
    result = subprocess.run(
        [exe, "--data-dir", str(data), *serve],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tempfile.gettempdir(),
    )
    said = result.stderr.strip()
    if result.returncode != 2 or "Traceback" in said or "PostgreSQL needs psycopg" not in said:
        exited = f"exit {result.returncode}"
        raise SmokeFailure(f"provider serve on PostgreSQL without psycopg: {exited}: {said[-2000:]}")
    return "PostgreSQL refused in one line"


def _read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    """The first stdout line, or a failure with stderr once the process ends or the time is up."""
    import threading

    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)
    if not result or not result[0]:
        proc.kill()
        _, err = proc.communicate()
        raise SmokeFailure(f"sandbox printed no ready line within {timeout:.0f} s:\n{err[-3000:]}")
    return result[0]


def _dump_logs_on_failure(data: Path) -> None:
    if sys.exc_info()[0] is None:
        return
    for log in sorted((data / "sandbox").glob("*.log")):
        print(f"--- {log.name} ---\n{log.read_text(errors='replace')[-3000:]}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("executable", nargs="?", type=Path, help="the bundle's paygo-desktop")
    parser.add_argument("--deb", type=Path, help="unpack this .deb and run its launcher instead")
    args = parser.parse_args(argv)
    if (args.executable is None) == (args.deb is None):
        parser.error("give the bundle's executable or --deb FILE")
    work = Path(tempfile.mkdtemp(prefix="paygo-smoke-"))
    failed = 0
    try:
        if args.deb:
            try:
                root, version = unpack_deb(args.deb, work)
                print(f"smoke deb-unpack: ok ({args.deb.name}, {version}, into a throwaway root)", flush=True)
                print(f"smoke deb-layout: ok ({check_deb_layout(root)})", flush=True)
            except (SmokeFailure, subprocess.CalledProcessError, OSError) as exc:
                print(f"smoke deb: FAILED\n{exc}", file=sys.stderr, flush=True)
                return 1
            exe = str(root / "usr" / "bin" / "paygo-desktop")  # the link, run as a user would
            checks = [check_version, check_self_test, check_sandbox]
        else:
            exe = str(args.executable.absolute())
            checks = [check_version, check_self_test, check_screenshots, check_sandbox]
        for check in checks:
            name = check.__name__.removeprefix("check_").replace("_", "-")
            try:
                print(f"smoke {name}: ok ({check(exe, work)})", flush=True)
            except (SmokeFailure, subprocess.TimeoutExpired, OSError) as exc:
                failed += 1
                print(f"smoke {name}: FAILED\n{exc}", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"smoke test of {exe}: {len(checks) - failed} of {len(checks)} checks passed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
