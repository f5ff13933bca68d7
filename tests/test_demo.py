"""`lts-bot demo` runs end to end and fails loudly when a step does not happen."""

from __future__ import annotations

import io
import json

from bot.demo import run_demo


async def test_the_demo_succeeds_and_prints_a_timeline() -> None:
    out = io.StringIO()
    assert await run_demo(out=out) == 0
    text = out.getvalue()
    assert "sends a signed ping" in text
    assert "forged signature" in text
    assert "Summary:" in text
    assert "0 failed" in text


async def test_the_demo_json_output_is_one_event_per_line() -> None:
    out = io.StringIO()
    assert await run_demo(json_output=True, out=out) == 0
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    steps = [e for e in events if e["type"] == "step"]
    assert steps
    assert all(step["ok"] for step in steps)
    assert events[-1]["type"] == "summary"
    assert events[-1]["failed"] == 0


def test_a_failed_step_fails_the_demo_and_is_named() -> None:
    from bot.demo import Step, Timeline

    out = io.StringIO()
    timeline = Timeline(out, json_output=False)
    timeline.record(Step("GitHub", "sends a ping", "HTTP 200", True))
    timeline.record(Step("operator", "asks /healthz", "HTTP 503", False))
    assert timeline.summary({}) is False
    assert "FAILED: operator asks /healthz: HTTP 503" in out.getvalue()
