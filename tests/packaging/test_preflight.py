"""scripts/preflight.sh: `make run` and `make test` name what the system lacks, with the package to install,
instead of failing deep inside pip, Qt or npm (a fresh Debian/Ubuntu desktop)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "preflight.sh"


def run(mode: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), mode],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, **env},
        cwd=ROOT,
    )


def tool_dir(tmp_path: Path, *tools: str) -> str:
    """A PATH holding only the named tools (so `node` can be absent)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in tools:
        found = shutil.which(tool)
        assert found is not None, tool
        (bin_dir / tool).symlink_to(found)
    return str(bin_dir)


def test_this_machine_passes_the_python_and_node_checks() -> None:
    assert run("python", PYTHON=sys.executable).returncode == 0
    assert run("node").returncode == 0


def test_without_node_the_tests_say_what_to_install(tmp_path: Path) -> None:
    result = run("node", PATH=tool_dir(tmp_path, "bash", "env"))
    assert result.returncode == 1
    assert "sudo apt-get install nodejs npm" in result.stderr


def test_an_old_python_is_named(tmp_path: Path) -> None:
    fake = tmp_path / "python3.9"
    fake.write_text('#!/bin/sh\n[ "$1" = -V ] && echo "Python 3.9.2" && exit 0\nexit 1\n')
    fake.chmod(0o755)
    result = run("python", PYTHON=str(fake))
    assert result.returncode == 1
    assert "Python 3.11 or newer" in result.stderr and "Python 3.9.2" in result.stderr


def fake_venv(tmp_path: Path) -> Path:
    """A venv whose Qt has the xcb plugin but not the Qt libraries beside it."""
    import PySide6

    qt = Path(PySide6.__file__).parent / "Qt"
    fake_qt = tmp_path / "venv" / "lib" / "python3.11" / "site-packages" / "PySide6" / "Qt"
    (fake_qt / "plugins" / "platforms").mkdir(parents=True)
    shutil.copy(qt / "plugins" / "platforms" / "libqxcb.so", fake_qt / "plugins" / "platforms")
    return tmp_path / "venv"


@pytest.mark.skipif(sys.platform != "linux", reason="the xcb plugin is Linux's")
def test_a_broken_qt_install_is_rebuilt_not_sent_to_apt(tmp_path: Path) -> None:
    result = run("gui", VENV=str(fake_venv(tmp_path)))  # the real ldd finds no libQt6XcbQpa beside it
    assert result.returncode == 1
    assert "libQt6XcbQpa.so.6" in result.stderr and "rm -rf" in result.stderr
    assert "apt-get" not in result.stderr


@pytest.mark.skipif(sys.platform != "linux", reason="the xcb plugin is Linux's")
def test_a_missing_system_library_is_named_with_its_package(tmp_path: Path) -> None:
    venv = fake_venv(tmp_path)
    ldd = tmp_path / "ldd"  # stands in for ldd: this machine may well have every library installed
    ldd.write_text(
        "#!/bin/sh\necho '\tlibxcb-cursor.so.0 => not found'\necho '\tlibxkbcommon-x11.so.0 => not found'\n"
    )
    ldd.chmod(0o755)
    result = run("gui", VENV=str(venv), PREFLIGHT_LDD=str(ldd))
    assert result.returncode == 1
    assert "Qt needs system libraries that are not installed" in result.stderr
    assert "sudo apt-get install libxcb-cursor0 libxkbcommon-x11-0" in result.stderr
