"""Interleaved timing: every round runs each contender once, so machine noise hits all alike.

A contender is a zero-argument callable doing one operation. Each round times a batch of
calls per contender (the batch size is calibrated once so a batch lasts about
``batch_seconds``), in an order that rotates from round to round. Rates are reported as
the median over rounds, and a ratio between two contenders as the median of the
per-round ratios, which cancels drift that affects a whole round.

Each batch is timed twice: on the wall clock (throughput as a client sees it) and on
this thread's CPU clock. On a shared machine the CPU clock ignores the time the process
spends descheduled, so its ratios stay stable under load; it is only meaningful where
all the work runs in this thread (in-process SQLite, token verification), not when a
database server does part of it.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

Operation = Callable[[], object]


@dataclass
class Result:
    """Per-round rates (operations per second) of each contender, by wall and CPU clock."""

    rates: dict[str, list[float]] = field(default_factory=dict)
    cpu_rates: dict[str, list[float]] = field(default_factory=dict)

    def _series(self, cpu: bool) -> dict[str, list[float]]:
        return self.cpu_rates if cpu else self.rates

    def rate(self, name: str, *, cpu: bool = False) -> float:
        return statistics.median(self._series(cpu)[name])

    def ratio(self, name: str, baseline: str, *, cpu: bool = False) -> float:
        """Median over rounds of ``rate(name) / rate(baseline)`` measured in the same round."""
        series = self._series(cpu)
        pairs = zip(series[name], series[baseline], strict=True)
        return statistics.median(a / b for a, b in pairs)

    def spread(self, name: str, *, cpu: bool = False) -> float:
        """Half the inter-quartile range relative to the median: a noise indicator."""
        values = sorted(self._series(cpu)[name])
        if len(values) < 4:
            return 0.0
        q1, _, q3 = statistics.quantiles(values, n=4)
        return (q3 - q1) / 2 / statistics.median(values)


def _time_batch(operation: Operation, count: int) -> tuple[float, float]:
    """Wall and thread-CPU seconds of ``count`` calls."""
    gc.collect()
    start, start_cpu = time.perf_counter(), time.thread_time()
    for _ in range(count):
        operation()
    return time.perf_counter() - start, max(time.thread_time() - start_cpu, 1e-9)


def calibrate(operation: Operation, batch_seconds: float) -> int:
    """How many calls of ``operation`` take about ``batch_seconds``."""
    count = 1
    while True:
        elapsed, _cpu = _time_batch(operation, count)
        if elapsed >= batch_seconds / 4 or count >= 1 << 24:
            return max(1, int(count * batch_seconds / max(elapsed, 1e-9)))
        count *= 4


def interleave(
    contenders: Mapping[str, Operation],
    *,
    rounds: int = 9,
    batch_seconds: float = 0.25,
    warmup: int = 200,
) -> Result:
    """Time ``contenders`` in ``rounds`` alternating rounds; see the module docstring."""
    names = list(contenders)
    for name in names:
        for _ in range(warmup):
            contenders[name]()
    counts = {name: calibrate(contenders[name], batch_seconds) for name in names}
    result = Result({name: [] for name in names}, {name: [] for name in names})
    for round_no in range(rounds):
        shift = round_no % len(names)
        for name in names[shift:] + names[:shift]:
            elapsed, cpu = _time_batch(contenders[name], counts[name])
            result.rates[name].append(counts[name] / elapsed)
            result.cpu_rates[name].append(counts[name] / cpu)
    return result
