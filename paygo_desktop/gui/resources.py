"""Icons and stylesheets for the GUI, found through the one locator in paygo_desktop.resource_files."""

from __future__ import annotations

from pathlib import Path

from paygo_desktop.resource_files import resources_dir


def resource_path(*parts: str) -> Path | None:
    """The path of a resource file, or None when it is not shipped (the GUI then does without it)."""
    try:
        path = resources_dir().joinpath(*parts)
    except FileNotFoundError:
        return None
    return path if path.exists() else None


def app_icon_path() -> Path | None:
    return resource_path("icons", "paygo.png") or resource_path("icons", "paygo.svg")
