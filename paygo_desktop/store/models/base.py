"""The store's one declarative base, shared by every table, and what the tables' columns share."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import Enum
from sqlalchemy.orm import DeclarativeBase


def utcnow() -> datetime:
    return datetime.now(UTC)


def values_of(enum: type[StrEnum], length: int) -> Enum:
    """A column of an enum's values, stored as the plain strings they are (no database enum type)."""
    return Enum(enum, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class Base(DeclarativeBase):
    pass
