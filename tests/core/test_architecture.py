"""The core stays Qt-free: it imports and works without PySide6, qasync or pyqtgraph."""

import pkgutil
import subprocess
import sys
from pathlib import Path

import paygo_desktop

GUI_ONLY = ("paygo_desktop.gui", "paygo_desktop.app")
HEAVY = ("web3", "eth_account", "pyqtgraph")


def core_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(paygo_desktop.__path__, "paygo_desktop."):
        if info.name.startswith(GUI_ONLY) or ".migrations" in info.name or info.name.endswith("__main__"):
            continue
        names.append(info.name)
    return names


def test_core_imports_without_qt():
    program = f"""
import sys, importlib
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('PySide6', 'qasync', 'pyqtgraph', 'shiboken6'):
            raise ImportError('Qt imported by the core: ' + name)
sys.meta_path.insert(0, Block())
for name in {core_modules()!r}:
    importlib.import_module(name)
print('ok')
"""
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ok"


def test_no_core_file_mentions_qt():
    root = Path(paygo_desktop.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        rel = path.relative_to(root).as_posix()
        if rel.startswith("gui/") or rel == "app.py":
            continue
        for line in path.read_text().splitlines():
            stripped = line.strip()
            if stripped.startswith(("import ", "from ")) and any(
                q in stripped.split()[1] for q in ("PySide6", "qasync", "pyqtgraph")
            ):
                offenders.append(rel)
    assert offenders == []


def test_building_the_command_line_loads_no_database_or_chain_code():
    program = """
import sys
import paygo_desktop.cli as cli
cli.build_parser()
print(','.join(m for m in ('sqlalchemy', 'web3', 'eth_account', 'PySide6', 'fastapi') if m in sys.modules))
"""
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == ""


def test_cli_and_context_do_not_load_heavy_modules():
    program = """
import sys
import paygo_desktop.cli, paygo_desktop.context, paygo_desktop.wallet
heavy = [m for m in ('web3', 'eth_account', 'pyqtgraph', 'PySide6') if m in sys.modules]
print(','.join(heavy))
"""
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == ""
