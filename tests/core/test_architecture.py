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


# The core's layers, the ground first: a unit (a top-level module or package of paygo_desktop) imports only
# units of lower layers, never one beside it or above it (function-level imports count too: they once hid
# a protocol <-> zcash cycle). docs/architecture.md writes the same order down; a new unit must be placed.
LAYERS: tuple[tuple[str, ...], ...] = (
    (
        "errors",
        "fileio",
        "paths",
        "resource_files",
        "bounded_json",
        "metering",
        "changes",
        "tls",
        "answer_limits",
        "peer_text",
        "token_list",
        "deferred_bls",
    ),
    ("money", "settings", "logs"),
    ("networks",),
    ("store",),
    ("chain", "wallet"),
    ("protocol", "prices", "tokens"),
    ("services", "zcash", "escrow", "sandbox", "reports", "onboarding", "history", "receipts", "x402"),
    ("sessions", "vendor", "provider", "jobs"),
    ("context",),
    ("commands",),
)
FRONT_ENDS = ("gui", "app", "cli", "__main__")  # above the core; app.py and cli.py choose the front end


def _core_imports() -> dict[str, set[tuple[str, str]]]:
    """unit -> {(imported unit, importing file)} for every import of another unit, at any depth."""
    import ast

    root = Path(paygo_desktop.__file__).parent
    found: dict[str, set[tuple[str, str]]] = {}
    for path in root.rglob("*.py"):
        rel = path.relative_to(root)
        if "migrations" in rel.parts:
            continue
        unit = rel.parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            else:
                continue
            for module in modules:
                parts = module.split(".")
                if parts[0] == "paygo_desktop" and len(parts) > 1 and parts[1] != unit:
                    target = parts[1]
                    if (root / target).is_dir() or (root / f"{target}.py").is_file():
                        found.setdefault(unit, set()).add((target, rel.as_posix()))
    return found


def test_every_core_unit_has_its_layer():
    root = Path(paygo_desktop.__file__).parent
    units = {
        p.name.removesuffix(".py")
        for p in root.iterdir()
        if p.suffix == ".py" or (p / "__init__.py").exists()
    }
    placed = [u for layer in LAYERS for u in layer]
    assert len(placed) == len(set(placed)), "a unit stands in two layers"
    assert sorted(units - {"__init__", *FRONT_ENDS}) == sorted(placed)


def test_the_core_imports_only_downward():
    layer_of = {unit: n for n, layer in enumerate(LAYERS) for unit in layer}
    upward = sorted(
        f"{where} ({unit}, layer {layer_of[unit]}) imports {target} (layer {layer_of.get(target, 'top')})"
        for unit, imports in _core_imports().items()
        if unit in layer_of
        for target, where in imports
        if target not in layer_of or layer_of[target] >= layer_of[unit]
    )
    assert upward == []


def test_the_documented_layers_are_the_tested_ones():
    text = (Path(paygo_desktop.__file__).parent.parent / "docs" / "architecture.md").read_text()
    block = text.split("## The core's layers", 1)[1].split("```", 2)[1]
    documented = {}
    for line in block.strip().splitlines():
        number, units = line.split(maxsplit=1)
        documented[int(number)] = tuple(u.strip() for u in units.split("·")[0].split(","))
    assert [documented[n] for n in sorted(documented)] == [tuple(layer) for layer in LAYERS]
