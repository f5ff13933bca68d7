"""The Prometheus text exposition of the service's own metrics."""

from __future__ import annotations

import pytest

from bot.metrics import Metrics, Registry


def test_counters_gauges_and_histograms_render_in_prometheus_text_format() -> None:
    reg = Registry()
    calls = reg.counter("calls_total", "Calls.", ("endpoint", "status"))
    depth = reg.gauge("depth", "Depth.")
    seconds = reg.histogram("seconds", "Seconds.", ("handler",), buckets=(0.1, 1.0))
    calls.inc("/repos/{owner}/{repo}", "200")
    calls.inc("/repos/{owner}/{repo}", "200")
    calls.inc('/odd"path\\', "500")
    depth.set(3)
    seconds.observe(0.05, "h")
    seconds.observe(0.5, "h")
    seconds.observe(5, "h")
    assert reg.render().splitlines() == [
        "# HELP calls_total Calls.",
        "# TYPE calls_total counter",
        'calls_total{endpoint="/odd\\"path\\\\",status="500"} 1',
        'calls_total{endpoint="/repos/{owner}/{repo}",status="200"} 2',
        "# HELP depth Depth.",
        "# TYPE depth gauge",
        "depth 3",
        "# HELP seconds Seconds.",
        "# TYPE seconds histogram",
        'seconds_bucket{handler="h",le="0.1"} 1',
        'seconds_bucket{handler="h",le="1"} 2',
        'seconds_bucket{handler="h",le="+Inf"} 3',
        'seconds_sum{handler="h"} 5.55',
        'seconds_count{handler="h"} 3',
    ]


def test_a_gauge_can_be_read_at_scrape_time() -> None:
    reg = Registry()
    value = [1.0]
    reg.gauge("live", "Live.", read=lambda: value[0])
    value[0] = 7.0
    assert "live 7" in reg.render()


def test_wrong_label_count_and_duplicate_names_are_refused() -> None:
    reg = Registry()
    counter = reg.counter("x_total", "X.", ("a",))
    with pytest.raises(ValueError, match="takes labels"):
        counter.inc("1", "2")
    with pytest.raises(ValueError, match="registered twice"):
        reg.counter("x_total", "X again.")


def test_the_service_exposes_every_metric_an_operator_needs() -> None:
    text = Metrics().registry.render()
    for name in (
        "lts_bot_webhook_deliveries_total",
        "lts_bot_queue_depth",
        "lts_bot_handler_duration_seconds",
        "lts_bot_github_api_calls_total",
        "lts_bot_github_api_retries_total",
        "lts_bot_github_rate_limit_remaining",
        "lts_bot_installation_token_requests_total",
        "lts_bot_repo_config_loads_total",
    ):
        assert f"# TYPE {name} " in text
