"""Where the shipped resources are: inside the installed package, or the repository's resources/ folder."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import paygo_desktop


@cache
def resources_dir() -> Path:
    package = Path(paygo_desktop.__file__).resolve().parent
    for candidate in (package / "resources", package.parent / "resources"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("the resources folder is missing from this installation")


def resource_path(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)
