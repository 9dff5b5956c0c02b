"""Interleaved timing: every round runs each contender once, so machine noise hits all alike.

A contender is a zero-argument callable doing one operation. Each round times a batch of
calls per contender (the batch size is calibrated once so a batch lasts about
``batch_seconds``), in an order that rotates from round to round. Rates are reported as
the median over rounds, and a ratio between two contenders as the median of the
per-round ratios, which cancels drift that affects a whole round.
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
    """Per-round rates (operations per second) of each contender."""

    rates: dict[str, list[float]] = field(default_factory=dict)

    def rate(self, name: str) -> float:
        return statistics.median(self.rates[name])

    def ratio(self, name: str, baseline: str) -> float:
        """Median over rounds of ``rate(name) / rate(baseline)`` measured in the same round."""
        pairs = zip(self.rates[name], self.rates[baseline], strict=True)
        return statistics.median(a / b for a, b in pairs)

    def spread(self, name: str) -> float:
        """Half the inter-quartile range relative to the median: a noise indicator."""
        values = sorted(self.rates[name])
        if len(values) < 4:
            return 0.0
        q1, _, q3 = statistics.quantiles(values, n=4)
        return (q3 - q1) / 2 / statistics.median(values)


def _time_batch(operation: Operation, count: int) -> float:
    gc.collect()
    start = time.perf_counter()
    for _ in range(count):
        operation()
    return time.perf_counter() - start


def calibrate(operation: Operation, batch_seconds: float) -> int:
    """How many calls of ``operation`` take about ``batch_seconds``."""
    count = 1
    while True:
        elapsed = _time_batch(operation, count)
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
    result = Result({name: [] for name in names})
    for round_no in range(rounds):
        shift = round_no % len(names)
        for name in names[shift:] + names[:shift]:
            elapsed = _time_batch(contenders[name], counts[name])
            result.rates[name].append(counts[name] / elapsed)
    return result
