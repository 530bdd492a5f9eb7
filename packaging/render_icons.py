"""Render the app icon from resources/icons/paygo.svg with Qt (offscreen, nothing downloaded).

    python packaging/render_icons.py --hicolor DIR        # DIR/<N>x<N>/apps/paygo-desktop.png + scalable SVG
    python packaging/render_icons.py --ico FILE.ico       # Windows: the executable's and installer's icon
    python packaging/render_icons.py --icns FILE.icns     # macOS: the .app's icon

Used by packaging/build_linux.sh for the .deb's hicolor icons, and on Windows and macOS before PyInstaller
(docs/packaging.md). Every PNG is rendered from the SVG at its own size, not scaled down from a big one.
"""

from __future__ import annotations

import argparse
import os
import shutil
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SVG = ROOT / "resources" / "icons" / "paygo.svg"
ICON_NAME = "paygo-desktop"
HICOLOR_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_SIZES = (16, 32, 64, 128, 256, 512, 1024)


def render(size: int):  # -> QImage
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        raise SystemExit(f"cannot read {SVG}")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    return image


def write_hicolor(target: Path) -> list[Path]:
    written = []
    for size in HICOLOR_SIZES:
        path = target / f"{size}x{size}" / "apps" / f"{ICON_NAME}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not render(size).save(str(path), "PNG"):
            raise SystemExit(f"could not write {path}")
        written.append(path)
    scalable = target / "scalable" / "apps" / f"{ICON_NAME}.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SVG, scalable)
    written.append(scalable)
    return written


def png_bytes(size: int) -> bytes:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not render(size).save(buffer, "PNG"):
        raise SystemExit(f"could not render the icon at {size} px")
    buffer.close()
    return bytes(data.data())


def ico_file(sizes: tuple[int, ...]) -> bytes:
    """A Windows .ico of PNG images (Windows Vista and later read PNG entries), one per size."""
    images = [png_bytes(size) for size in sizes]
    header = struct.pack("<HHH", 0, 1, len(images))
    offset = len(header) + 16 * len(images)
    entries = b""
    for size, image in zip(sizes, images, strict=True):
        side = 0 if size >= 256 else size  # 0 means 256
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(image), offset)
        offset += len(image)
    return header + entries + b"".join(images)


ICNS_TYPES = {16: b"icp4", 32: b"icp5", 64: b"icp6", 128: b"ic07", 256: b"ic08", 512: b"ic09", 1024: b"ic10"}


def icns_file(sizes: tuple[int, ...]) -> bytes:
    """A macOS .icns of PNG images (OS X 10.7 and later), one per size."""
    body = b""
    for size in sizes:
        image = png_bytes(size)
        body += ICNS_TYPES[size] + struct.pack(">I", 8 + len(image)) + image
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hicolor", type=Path, metavar="DIR", help="write a hicolor icon theme tree")
    parser.add_argument("--ico", type=Path, metavar="FILE", help="write a Windows .ico")
    parser.add_argument("--icns", type=Path, metavar="FILE", help="write a macOS .icns")
    args = parser.parse_args(argv)
    if not (args.hicolor or args.ico or args.icns):
        parser.error("say what to write: --hicolor, --ico or --icns")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication(sys.argv[:1])  # noqa: F841  (Qt's image plugins need an application)
    if args.hicolor:
        for path in write_hicolor(args.hicolor):
            print(path)
    for target, contents in ((args.ico, ico_file), (args.icns, icns_file)):
        if target:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(contents(ICO_SIZES if contents is ico_file else ICNS_SIZES))
            print(target)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
