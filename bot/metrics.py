"""Prometheus text-format metrics kept in process: counters, gauges and histograms."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

LabelValues = tuple[str, ...]
_M = TypeVar("_M", bound="_Metric")

_DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: Sequence[str], values: LabelValues, extra: str = "") -> str:
    parts = [f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _num(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


class _Metric:
    kind = ""

    def __init__(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> None:
        self.name = name
        self.help = help_text
        self.labelnames = tuple(labelnames)
        self._lock = threading.Lock()

    def _key(self, labels: tuple[str, ...]) -> LabelValues:
        if len(labels) != len(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}, got {labels}")
        return labels

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]

    def samples(self) -> list[str]:
        raise NotImplementedError


class Counter(_Metric):
    """A value that only goes up, one per label combination."""

    kind = "counter"

    def __init__(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> None:
        super().__init__(name, help_text, labelnames)
        self._values: dict[LabelValues, float] = {}

    def inc(self, *labels: str, amount: float = 1.0) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, *labels: str) -> float:
        return self._values.get(self._key(labels), 0.0)

    def samples(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items())
        return [f"{self.name}{_labels(self.labelnames, k)} {_num(v)}" for k, v in items]


class Gauge(_Metric):
    """A value that is set; or read from a callback at scrape time."""

    kind = "gauge"

    def __init__(
        self,
        name: str,
        help_text: str,
        labelnames: Sequence[str] = (),
        read: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(name, help_text, labelnames)
        self._values: dict[LabelValues, float] = {}
        self._read = read

    def set(self, value: float, *labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = value

    def value(self, *labels: str) -> float:
        if self._read is not None and not labels:
            return self._read()
        return self._values.get(self._key(labels), 0.0)

    def samples(self) -> list[str]:
        if self._read is not None:
            return [f"{self.name} {_num(self._read())}"]
        with self._lock:
            items = sorted(self._values.items())
        return [f"{self.name}{_labels(self.labelnames, k)} {_num(v)}" for k, v in items]


class Histogram(_Metric):
    """Observations counted into cumulative buckets, with their sum and count."""

    kind = "histogram"

    def __init__(
        self,
        name: str,
        help_text: str,
        labelnames: Sequence[str] = (),
        buckets: Iterable[float] = _DEFAULT_BUCKETS,
    ) -> None:
        super().__init__(name, help_text, labelnames)
        self.buckets = tuple(sorted(buckets))
        self._series: dict[LabelValues, tuple[list[int], list[float]]] = {}

    def observe(self, value: float, *labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            counts, total = self._series.setdefault(key, ([0] * (len(self.buckets) + 1), [0.0]))
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    counts[i] += 1
                    break
            else:
                counts[-1] += 1
            total[0] += value

    def count(self, *labels: str) -> int:
        series = self._series.get(self._key(labels))
        return sum(series[0]) if series else 0

    def samples(self) -> list[str]:
        out: list[str] = []
        with self._lock:
            items = sorted((k, (list(c), t[0])) for k, (c, t) in self._series.items())
        for key, (counts, total) in items:
            running = 0
            for bound, n in zip((*self.buckets, math.inf), counts, strict=True):
                running += n
                le = f'le="{_num(bound)}"'
                out.append(f"{self.name}_bucket{_labels(self.labelnames, key, le)} {running}")
            out.append(f"{self.name}_sum{_labels(self.labelnames, key)} {_num(total)}")
            out.append(f"{self.name}_count{_labels(self.labelnames, key)} {running}")
        return out


class Registry:
    """The set of metrics one service exposes on /metrics."""

    def __init__(self) -> None:
        self._metrics: dict[str, _Metric] = {}

    def _add(self, metric: _M) -> _M:
        if metric.name in self._metrics:
            raise ValueError(f"metric {metric.name} registered twice")
        self._metrics[metric.name] = metric
        return metric

    def counter(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> Counter:
        return self._add(Counter(name, help_text, labelnames))

    def gauge(
        self,
        name: str,
        help_text: str,
        labelnames: Sequence[str] = (),
        read: Callable[[], float] | None = None,
    ) -> Gauge:
        return self._add(Gauge(name, help_text, labelnames, read))

    def histogram(
        self,
        name: str,
        help_text: str,
        labelnames: Sequence[str] = (),
        buckets: Iterable[float] = _DEFAULT_BUCKETS,
    ) -> Histogram:
        return self._add(Histogram(name, help_text, labelnames, buckets))

    def render(self) -> str:
        lines: list[str] = []
        for metric in self._metrics.values():
            lines += metric.header()
            lines += metric.samples()
        return "\n".join(lines) + "\n"


class Metrics:
    """The service's own metrics, created together so every module records into one registry."""

    def __init__(self) -> None:
        self.registry = r = Registry()
        self.deliveries = r.counter(
            "lts_bot_webhook_deliveries_total",
            "Webhook deliveries received, by event and outcome.",
            ("event", "outcome"),
        )
        self.queue_depth = r.gauge(
            "lts_bot_queue_depth", "Deliveries accepted and not yet finished."
        )
        self.handler_seconds = r.histogram(
            "lts_bot_handler_duration_seconds",
            "Time spent in each handler, by event, handler and outcome.",
            ("event", "handler", "outcome"),
        )
        self.github_calls = r.counter(
            "lts_bot_github_api_calls_total",
            "GitHub API requests, by method, endpoint template and HTTP status.",
            ("method", "endpoint", "status"),
        )
        self.github_retries = r.counter(
            "lts_bot_github_api_retries_total",
            "GitHub API requests retried, by reason.",
            ("reason",),
        )
        self.rate_limit_remaining = r.gauge(
            "lts_bot_github_rate_limit_remaining",
            "x-ratelimit-remaining from the latest response, by installation and resource.",
            ("installation", "resource"),
        )
        self.token_requests = r.counter(
            "lts_bot_installation_token_requests_total",
            "Installation access tokens requested from GitHub.",
        )
        self.backports = r.counter(
            "lts_bot_backports_total",
            "Backport attempts, by LTS line and outcome (open, conflict, already-in, failed).",
            ("line", "outcome"),
        )
        self.reminders = r.counter(
            "lts_bot_reminders_total",
            "SLA reminders posted, by clock (triage, plan, release) and kind (remind, breach).",
            ("clock", "kind"),
        )
        self.releases = r.counter(
            "lts_bot_releases_total",
            "Releases of LTS lines, by line and event (staged, published, flagged, closed, "
            "withdrawn).",
            ("line", "event"),
        )
        # Hours, from an hour to a month: the spans an LTS process is measured in.
        hours = (1, 4, 8, 24, 72, 168, 336, 720)
        self.time_to_triage = r.histogram(
            "lts_bot_time_to_triage_hours",
            "From a ticket's opening to its triage decision, by severity.",
            ("severity",),
            hours,
        )
        self.time_to_release = r.histogram(
            "lts_bot_time_to_release_hours",
            "From a ticket's opening to the publication of a release with its fix, by line.",
            ("line",),
            hours,
        )
        self.config_loads = r.counter(
            "lts_bot_repo_config_loads_total",
            "Reads of .github/lts.yml, by result (file, absent, invalid).",
            ("outcome",),
        )
