"""The installers' sources agree with the app: what the spec ships and leaves out, the frozen entry point,
the .desktop entry, the .deb's control file, the icons and the lock. No build here: `make smoke` (CI)
builds the bundle and the .deb and runs them.
"""

from __future__ import annotations

import ast
import configparser
import importlib.util
import itertools
import re
import struct
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import paygo_desktop

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"


def load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Recorder:
    """Stands in for PyInstaller's build steps: keeps what the spec passed."""

    calls: dict[str, dict[str, Any]]

    def __init__(self, name: str, calls: dict[str, dict[str, Any]]) -> None:
        self.name = name
        self.calls = calls

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls[self.name] = {"args": args, **kwargs}
        return _Built()


class _Built:
    def __init__(self) -> None:
        self.binaries: list[Any] = []
        self.datas: list[Any] = []
        self.pure: list[Any] = []
        self.scripts: list[Any] = []
        self.name = "built"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    """The spec run with PyInstaller's steps recorded and its module collectors answering nothing."""
    pytest.importorskip("PyInstaller")
    import PyInstaller.utils.hooks as hooks

    calls: dict[str, dict[str, Any]] = {}
    namespace: dict[str, Any] = {
        "SPECPATH": str(PACKAGING),
        "__file__": str(PACKAGING / "paygo-desktop.spec"),
    }
    for step in ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE"):
        namespace[step] = Recorder(step, calls)
    saved = (hooks.collect_submodules, hooks.collect_data_files, hooks.copy_metadata)
    hooks.collect_submodules = lambda *a, **k: []  # type: ignore[assignment]
    hooks.collect_data_files = lambda *a, **k: []  # type: ignore[assignment]
    hooks.copy_metadata = lambda *a, **k: []  # type: ignore[assignment]
    try:
        code = compile((PACKAGING / "paygo-desktop.spec").read_text(), "paygo-desktop.spec", "exec")
        exec(code, namespace)
    finally:
        hooks.collect_submodules, hooks.collect_data_files, hooks.copy_metadata = saved
    namespace["calls"] = calls
    return namespace


def test_spec_takes_its_version_and_name_from_the_package(spec: dict[str, Any]) -> None:
    assert spec["VERSION"] == paygo_desktop.__version__
    assert spec["calls"]["EXE"]["name"] == "paygo-desktop"
    assert spec["calls"]["COLLECT"]["name"] == "paygo-desktop"  # one folder, not one file
    assert spec["calls"]["EXE"]["exclude_binaries"] is True


def test_spec_ships_every_package_data_file_where_the_app_looks_for_it(spec: dict[str, Any]) -> None:
    shipped = {
        str(Path(dest) / Path(src).name)
        for src, dest in spec["calls"]["Analysis"]["datas"]
        if Path(src).is_file()
    }
    wanted = set()
    for path in (ROOT / "resources").rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            wanted.add(str(Path("paygo_desktop/resources") / path.relative_to(ROOT / "resources")))
    for migrations in (
        ROOT / "paygo_desktop" / "store" / "migrations",
        ROOT / "paygo_desktop" / "provider" / "migrations",
    ):
        for pattern in ("*.py", "*.mako", "versions/*.py"):  # setup.py's package_data for the migrations
            for path in migrations.glob(pattern):
                wanted.add(str(path.relative_to(ROOT)))
    wanted.add("paygo_desktop/provider/demo_catalog.json")
    assert wanted - shipped == set()
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in shipped)


def _modules_started_by_name() -> set[str]:
    """Every module the app runs as a child process: `sys.executable, "-m", "<module>"` in its source."""
    found = set()
    for path in (ROOT / "paygo_desktop").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.List):
                items = [e.value if isinstance(e, ast.Constant) else None for e in node.elts]
                for first, second in itertools.pairwise(items):
                    if first == "-m" and isinstance(second, str):
                        found.add(second)
    return found


def test_every_module_the_app_starts_by_name_is_in_the_bundle(spec: dict[str, Any]) -> None:
    started = _modules_started_by_name()
    assert {"paygo_desktop", "paygo_desktop.sandbox.embedded_node"} <= started
    hidden = set(spec["calls"]["Analysis"]["hiddenimports"])
    for module in started:
        assert (module + ".__main__" if module == "paygo_desktop" else module) in hidden, module


def test_spec_excludes_nothing_the_app_imports(spec: dict[str, Any]) -> None:
    excluded = set(spec["calls"]["Analysis"]["excludes"])
    imported = set()
    for path in (ROOT / "paygo_desktop").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module)
                imported.update(f"{node.module}.{alias.name}" for alias in node.names)
    clashes = {name for name in imported if any(name == x or name.startswith(x + ".") for x in excluded)}
    assert clashes == set()
    assert {"tkinter", "pytest", "PySide6.QtWebEngineCore", "PySide6.Qt3DCore", "PySide6.QtQml"} <= excluded


@pytest.mark.parametrize(
    ("dest", "kept"),
    [
        ("PySide6/Qt/plugins/platforms/libqxcb.so", True),
        ("PySide6/Qt/plugins/platforms/libqwayland.so", True),
        ("PySide6/Qt/plugins/platforms/libqoffscreen.so", True),
        ("PySide6/Qt/plugins/imageformats/libqsvg.so", True),
        ("PySide6/Qt/plugins/iconengines/libqsvgicon.so", True),
        ("PySide6/Qt/plugins/wayland-shell-integration/libxdg-shell.so", True),
        ("PySide6/Qt/plugins/platforminputcontexts/libcomposeplatforminputcontextplugin.so", True),
        ("PySide6/Qt/plugins/platforms/libqeglfs.so", False),
        ("PySide6/Qt/plugins/platforms/libqvnc.so", False),
        ("PySide6/Qt/plugins/imageformats/libqpdf.so", False),
        ("PySide6/Qt/plugins/qmltooling/libqmldbg_tcp.so", False),
        ("PySide6/Qt/plugins/sqldrivers/libqsqlite.so", False),
        ("PySide6/Qt/translations/qtbase_de.qm", False),
        ("PySide6/Qt/lib/libQt6Quick.so.6", False),
        ("PySide6/Qt/lib/libQt6Qml.so.6", False),
        ("PySide6/Qt/lib/libQt6Gui.so.6", True),
        ("PySide6/Qt/lib/libQt6WaylandClient.so.6", True),
    ],
)
def test_spec_keeps_the_qt_plugins_the_app_needs_and_drops_the_rest(
    spec: dict[str, Any], dest: str, kept: bool
) -> None:
    assert spec["qt_keep"](dest) is kept


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the host-library rule is Linux's")
@pytest.mark.parametrize(
    ("name", "from_host"),
    [
        ("libstdc++.so.6", True),
        ("libX11.so.6", True),
        ("libfontconfig.so.1", True),
        ("libglib-2.0.so.0", True),
        ("libgtk-3.so.0", False),  # never bundled in the first place; not matched by accident either
        ("libpython3.11.so.1.0", False),
        ("libssl.so.3", False),
        ("libsqlite3.so.0", False),
        ("libxcb-cursor.so.0", False),
        ("PySide6/Qt/lib/libicudata.so.73", False),
    ],
)
def test_spec_leaves_the_host_desktop_stack_to_the_host(
    spec: dict[str, Any], name: str, from_host: bool
) -> None:
    assert spec["host_provides"](name) is from_host


def test_frozen_entry_point_runs_the_apps_own_modules_like_python_m(tmp_path: Path) -> None:
    entry = str(PACKAGING / "entry.py")
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    as_module = subprocess.run(
        [sys.executable, entry, "-m", "paygo_desktop", "--version"], capture_output=True, text=True, env=env
    )
    assert as_module.returncode == 0, as_module.stderr
    assert as_module.stdout.strip() == f"PayGo Desktop {paygo_desktop.__version__}"
    as_cli = subprocess.run([sys.executable, entry, "--version"], capture_output=True, text=True, env=env)
    assert as_cli.stdout == as_module.stdout
    foreign = subprocess.run(
        [sys.executable, entry, "-m", "http.server"], capture_output=True, text=True, env=env
    )
    assert foreign.returncode == 2
    assert "only this app's own modules" in foreign.stderr


def test_frozen_entry_point_gives_child_programs_the_users_library_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entry = load(PACKAGING / "entry.py", "paygo_frozen_entry")
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("LD_LIBRARY_PATH", "/opt/paygo-desktop/_internal:/home/me/lib")
    monkeypatch.setenv("LD_LIBRARY_PATH_ORIG", "/home/me/lib")
    entry.restore_library_path()
    import os

    assert os.environ["LD_LIBRARY_PATH"] == "/home/me/lib"
    assert "LD_LIBRARY_PATH_ORIG" not in os.environ
    monkeypatch.setenv("LD_LIBRARY_PATH", "/opt/paygo-desktop/_internal")  # the user had none
    entry.restore_library_path()
    assert "LD_LIBRARY_PATH" not in os.environ


def test_desktop_entry_starts_the_launcher_with_the_installed_icon() -> None:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  (keys are case-sensitive)
    parser.read(PACKAGING / "linux" / "paygo-desktop.desktop", encoding="utf-8")
    entry = parser["Desktop Entry"]
    build_script = (PACKAGING / "build_linux.sh").read_text()
    icons = load(PACKAGING / "render_icons.py", "paygo_render_icons")
    assert entry["Type"] == "Application"
    assert entry["Name"] == paygo_desktop.APP_NAME
    assert entry["Exec"].split()[0] == "paygo-desktop"
    assert 'ln -s "../../opt/$NAME/$NAME" "$STAGE/usr/bin/$NAME"' in build_script
    assert "NAME=paygo-desktop" in build_script.splitlines()
    assert entry["Icon"] == icons.ICON_NAME == "paygo-desktop"
    assert entry["Terminal"] == "false"
    assert entry["Categories"].endswith(";")
    assert entry["StartupWMClass"] == "paygo-desktop"
    assert 'setDesktopFileName("paygo-desktop")' in (ROOT / "paygo_desktop" / "app.py").read_text()


def test_control_file_template_is_complete_and_filled_by_the_build_script() -> None:
    template = (PACKAGING / "linux" / "control.in").read_text()
    fields = dict(line.split(": ", 1) for line in template.splitlines() if line and not line.startswith(" "))
    for field in (
        "Package",
        "Version",
        "Architecture",
        "Maintainer",
        "Installed-Size",
        "Depends",
        "Description",
    ):
        assert field in fields, field
    assert fields["Package"] == "paygo-desktop"
    build_script = (PACKAGING / "build_linux.sh").read_text()
    for placeholder in set(re.findall(r"@([A-Z_]+)@", template)):
        assert f"s/@{placeholder}@/" in build_script, placeholder
    depends = {d.split()[0] for d in fields["Depends"].split(", ")}
    assert {"libc6", "libstdc++6", "libfontconfig1", "libx11-6", "libxkbcommon0", "libglib2.0-0"} <= depends


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_icons_render_at_every_size_from_the_svg(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(PACKAGING / "render_icons.py"),
            "--hicolor",
            str(tmp_path / "hicolor"),
            "--ico",
            str(tmp_path / "app.ico"),
            "--icns",
            str(tmp_path / "app.icns"),
        ],
        capture_output=True,
        text=True,
        env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    icons = load(PACKAGING / "render_icons.py", "paygo_render_icons")
    for size in icons.HICOLOR_SIZES:
        assert _png_size(tmp_path / "hicolor" / f"{size}x{size}" / "apps" / "paygo-desktop.png") == (
            size,
            size,
        )
    assert (
        tmp_path / "hicolor" / "scalable" / "apps" / "paygo-desktop.svg"
    ).read_bytes() == icons.SVG.read_bytes()
    ico = (tmp_path / "app.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", ico[:6])
    assert (reserved, kind, count) == (0, 1, len(icons.ICO_SIZES))
    icns = (tmp_path / "app.icns").read_bytes()
    assert icns[:4] == b"icns" and struct.unpack(">I", icns[4:8])[0] == len(icns)


def test_lock_pins_pyinstaller_with_hashes_and_no_index_or_local_path() -> None:
    lock = (ROOT / "requirements.lock").read_text()
    assert re.search(r"^pyinstaller==[\d.]+ \\\n    --hash=sha256:", lock, re.MULTILINE)
    assert re.search(r"^pyinstaller-hooks-contrib==[\d.]+ \\\n    --hash=sha256:", lock, re.MULTILINE)
    for line in lock.splitlines():
        stripped = line.strip()
        assert not stripped.startswith(("-i ", "--index-url", "--extra-index-url", "--find-links", "-f ")), (
            line
        )
        assert "file:" not in stripped and not stripped.startswith(("/", "./", "-e ")), line


def _pins(lock: str) -> dict[str, str]:
    return dict(re.findall(r"^([a-z0-9_.-]+)==([^\s\\]+)", lock, re.MULTILINE))


def test_the_provider_lock_is_hashed_has_no_qt_and_matches_the_full_lock() -> None:
    """requirements-provider.lock (a server install: docs/vendor-deployment.md) carries versions and hashes
    only, pulls no Qt, pyqtgraph or numpy, and pins every package at requirements.lock's version."""
    provider = (ROOT / "requirements-provider.lock").read_text()
    for line in provider.splitlines():
        stripped = line.strip()
        assert not stripped.startswith(("-i ", "--index-url", "--extra-index-url", "--find-links", "-f ")), (
            line
        )
        assert "file:" not in stripped and not stripped.startswith(("/", "./", "-e ")), line
    pins = _pins(provider)
    assert {"psycopg", "psycopg-binary", "fastapi", "uvicorn", "sqlalchemy", "alembic", "web3"} <= set(pins)
    assert not {p for p in pins if p.lower() in {"pyside6", "pyside6-essentials", "shiboken6", "qasync"}}
    assert not {p for p in pins if p.lower() in {"pyqtgraph", "numpy", "pyinstaller", "pytest"}}
    blocks = re.split(r"\n(?=[a-z0-9_.-]+==)", provider.strip())
    assert all("--hash=sha256:" in block for block in blocks)
    full = _pins((ROOT / "requirements.lock").read_text())
    assert {name: version for name, version in pins.items() if full.get(name) != version} == {}


def test_the_package_puts_qt_in_the_gui_extra_and_postgres_in_the_provider_extra() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    base = " ".join(project["dependencies"]).lower()
    assert "pyside6" not in base and "pyqtgraph" not in base and "qasync" not in base
    extras = project["optional-dependencies"]
    assert any(d.startswith("PySide6-Essentials") for d in extras["gui"])
    assert any(d.startswith("psycopg") for d in extras["provider"])
    assert project["scripts"]["paygo-provider"] == "paygo_desktop.provider.server:main"
