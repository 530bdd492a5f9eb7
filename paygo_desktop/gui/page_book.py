"""The sidebar's pages, each built the first time it is asked for.

Building all eight pages up front cost about 0.2 s of start-up (their modules and widgets) before the lock
screen could be shown, for pages most visits never open. ``book["escrow"]`` builds the page if it is not
there yet; iterating the book, ``get`` and ``in`` see only the pages built so far.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from paygo_desktop.gui.pages.base import Page


class PageBook:
    def __init__(self, keys: tuple[str, ...], build: Callable[[str], Page]) -> None:
        self._keys = keys
        self._build = build
        self._built: dict[str, Page] = {}

    def __getitem__(self, key: str) -> Page:
        page = self._built.get(key)
        if page is None:
            if key not in self._keys:
                raise KeyError(key)
            page = self._build(key)
            self._built[key] = page
        return page

    def get(self, key: str) -> Page | None:
        """The page if it was built, else None (without building it)."""
        return self._built.get(key)

    def __contains__(self, key: object) -> bool:
        return key in self._built

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._built))

    def __len__(self) -> int:
        return len(self._built)

    def keys(self) -> list[str]:
        return list(self._built)

    def values(self) -> list[Page]:
        return list(self._built.values())

    def items(self) -> list[tuple[str, Page]]:
        return list(self._built.items())
