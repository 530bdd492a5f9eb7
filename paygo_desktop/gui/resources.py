"""Finding bundled resources (icons, stylesheets) in an installed package or a source checkout."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import paygo_desktop


@cache
def resources_dir() -> Path | None:
    package = Path(paygo_desktop.__file__).resolve().parent
    for candidate in (package / "resources", package.parent / "resources"):
        if (candidate / "icons").is_dir():
            return candidate
    return None


def resource_path(*parts: str) -> Path | None:
    """The path of a resource file, or None when it is not shipped (the GUI then does without it)."""
    base = resources_dir()
    if base is None:
        return None
    path = base.joinpath(*parts)
    return path if path.exists() else None


def app_icon_path() -> Path | None:
    return resource_path("icons", "paygo.png") or resource_path("icons", "paygo.svg")
