"""Render payment URIs / addresses as QR codes (segno): PNG bytes or an SVG string."""

from __future__ import annotations

import io

import segno

DEFAULT_ERROR = "m"
DEFAULT_SCALE = 8
DEFAULT_BORDER = 4  # the quiet zone the QR standard asks for


def make_qr(data: str, error: str = DEFAULT_ERROR) -> segno.QRCode:
    """A full-size (never Micro) QR code for ``data``, byte mode, at least ``error`` correction."""
    if not data:
        raise ValueError("nothing to encode")
    return segno.make_qr(data, error=error, encoding="utf-8")


def qr_png(
    data: str, scale: int = DEFAULT_SCALE, border: int = DEFAULT_BORDER, error: str = DEFAULT_ERROR
) -> bytes:
    buf = io.BytesIO()
    make_qr(data, error).save(buf, kind="png", scale=scale, border=border)
    return buf.getvalue()


def qr_svg(
    data: str,
    scale: int = DEFAULT_SCALE,
    border: int = DEFAULT_BORDER,
    error: str = DEFAULT_ERROR,
    dark: str = "#000",
    light: str = "#fff",
) -> str:
    buf = io.BytesIO()
    make_qr(data, error).save(
        buf, kind="svg", scale=scale, border=border, dark=dark, light=light, xmldecl=False
    )
    return buf.getvalue().decode("utf-8")
