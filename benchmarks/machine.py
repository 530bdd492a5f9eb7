"""How busy the machine was while a benchmark ran, printed beside its figures.

A figure measured on a shared machine means little without the load it was measured under. ``Load``
reads the kernel's counters at the start and the end: the load average, and how much of all the cores'
time went to work other than this benchmark's own process and its children (from /proc/stat, minus our
own CPU time). Linux only; elsewhere it prints the core count alone.
"""

from __future__ import annotations

import os
import resource
import time


def _busy_and_total() -> tuple[float, float] | None:
    """Seconds of CPU all cores spent busy, and in total, since boot (from /proc/stat)."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])
    return (total - idle) / ticks, total / ticks


def _own_cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class Load:
    """``with Load() as load: ...`` (or ``load = Load().start()`` … ``load.stop()``), then ``load.line()``."""

    def __enter__(self) -> Load:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> Load:
        self.start_avg = _loadavg()
        self.start_cpu = _busy_and_total()
        self.start_own = _own_cpu()
        self.start_wall = time.monotonic()
        return self

    def stop(self) -> None:
        self.end_avg = _loadavg()
        self.end_cpu = _busy_and_total()
        self.end_own = _own_cpu()
        self.wall = time.monotonic() - self.start_wall

    def other_share(self) -> float | None:
        """Share of all cores' time used by other work during the run, 0..1."""
        if self.start_cpu is None or self.end_cpu is None:
            return None
        busy = self.end_cpu[0] - self.start_cpu[0]
        total = self.end_cpu[1] - self.start_cpu[1]
        if total <= 0:
            return None
        own = self.end_own - self.start_own  # only children already reaped are counted: the benchmark's
        return max(0.0, (busy - own) / total)

    def line(self) -> str:
        cores = os.cpu_count() or 1
        parts = [f"{cores} cores"]
        if self.start_avg is not None and self.end_avg is not None:
            parts.append(f"load average {self.start_avg:.2f} at the start, {self.end_avg:.2f} at the end")
        other = self.other_share()
        if other is not None:
            parts.append(
                f"other work used {other * 100:.0f}% of all cores' time over the {self.wall:.0f} s "
                f"(≈ {other * cores:.1f} cores busy besides the benchmark)"
            )
        return "machine: " + "; ".join(parts)


def _loadavg() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:
        return None
