from __future__ import annotations

import re
import struct
import zlib
from xml.etree import ElementTree

import numpy as np
import pytest
import zxingcpp

from paygo_desktop.zcash.addresses import Network, encode_unified
from paygo_desktop.zcash.qr import make_qr, qr_png, qr_svg
from paygo_desktop.zcash.zip321 import Payment, build_uri

SAPLING = "ztestsapling10yy2ex5dcqkclhc7z7yrnjq2z6feyjad56ptwlfgmy77dmaqqrl9gyhprdx59qgmsnyfska2kez"
UNIFIED = encode_unified({2: bytes(range(43)), 3: bytes(range(50, 93))}, Network.MAIN)
URIS = [
    build_uri(Payment(SAPLING, amount_zat=150_000_000, memo=b"paygo:perm:abc-123", label="Café")),
    build_uri(Payment(UNIFIED, amount_zat=1, memo=bytes(range(256)))),
    f"zcash:{UNIFIED.upper()}",
]


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def decode_png_grey(data: bytes) -> np.ndarray:
    """Minimal PNG reader for greyscale / palette images (enough for segno's output)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, palette = 8, b"", None
    width = height = depth = colour = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        ctype, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        assert zlib.crc32(ctype + body) == struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0]
        if ctype == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert colour in (0, 3) and depth in (1, 2, 4, 8) and interlace == 0
        elif ctype == b"PLTE":
            palette = [body[i] for i in range(0, len(body), 3)]  # red channel of each entry
        elif ctype == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = (width * depth + 7) // 8
    bpp = max(1, depth // 8)
    prev = bytearray(stride)
    rows = []
    for y in range(height):
        ftype, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            c = prev[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + (0, a, prev[i], (a + prev[i]) // 2, _paeth(a, prev[i], c))[ftype]) & 0xFF
        bits = np.unpackbits(np.frombuffer(bytes(line), dtype=np.uint8))
        values = bits.reshape(-1, depth) @ (1 << np.arange(depth - 1, -1, -1)) if depth < 8 else line
        values = np.asarray(values)[:width]
        if colour == 3:
            assert palette is not None
            rows.append([palette[v] for v in values])
        else:
            rows.append([v * 255 // ((1 << depth) - 1) for v in values])
        prev = line
    return np.array(rows, dtype=np.uint8)


def decode_svg(svg: str) -> np.ndarray:
    """Rasterise segno's SVG: a light background rect plus one path of unit-height horizontal strokes."""
    root = ElementTree.fromstring(svg)
    width, height = int(root.get("width", "0")), int(root.get("height", "0"))
    ns = "{http://www.w3.org/2000/svg}"
    group = root.find(f"{ns}g")
    assert group is not None
    scale = int(re.fullmatch(r"scale\((\d+)\)", group.get("transform", "")).group(1))  # type: ignore[union-attr]
    size = width // scale
    assert size * scale == width == height
    image = np.full((size, size), 255, dtype=np.uint8)
    (stroke,) = [p for p in group.iter(f"{ns}path") if p.get("stroke")]
    x = y = 0.0
    for op, a, b in re.findall(r"([Mmh])(-?[\d.]+)(?:[ ,](-?[\d.]+))?", stroke.get("d", "")):
        if op == "M":
            x, y = float(a), float(b)
        elif op == "m":
            x, y = x + float(a), y + float(b)
        else:
            image[int(y), int(x) : int(x + float(a))] = 0
            x += float(a)
    return image.repeat(scale, 0).repeat(scale, 1)


def _read(image: np.ndarray) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode]


@pytest.mark.parametrize("uri", URIS)
def test_png_decodes_to_same_uri(uri: str) -> None:
    png = qr_png(uri)
    image = decode_png_grey(png)
    assert image.shape[0] == image.shape[1]
    assert _read(image) == [uri]


@pytest.mark.parametrize("uri", URIS)
def test_svg_decodes_to_same_uri(uri: str) -> None:
    svg = qr_svg(uri)
    assert svg.startswith("<svg")
    assert _read(decode_svg(svg)) == [uri]


def test_png_scale_and_border() -> None:
    qr = make_qr(URIS[0])
    modules = len(qr.matrix)
    image = decode_png_grey(qr_png(URIS[0], scale=3, border=4))
    assert image.shape == ((modules + 8) * 3, (modules + 8) * 3)
    assert (image[:12, :] == 255).all()  # quiet zone


def test_never_micro_qr_and_refuses_empty() -> None:
    assert not make_qr("zcash:").is_micro
    with pytest.raises(ValueError, match="nothing"):
        qr_png("")
