"""Decisions are data: what a pure policy asks the apply layer to make true on GitHub."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Conclusion = Literal[
    "success", "failure", "neutral", "cancelled", "skipped", "timed_out", "action_required"
]

# GitHub rejects check-run summaries and texts above 65,535 characters.
CHECK_TEXT_LIMIT = 65_535


def clip(text: str, limit: int = CHECK_TEXT_LIMIT) -> str:
    """Cut text to GitHub's limit, saying so at the end rather than failing the request."""
    if len(text) <= limit:
        return text
    note = "\n\n… (cut to fit GitHub's size limit)"
    return text[: limit - len(note)] + note


@dataclass(frozen=True)
class CheckRunDecision:
    """A completed check run the bot wants on a commit: its name, outcome and explanation."""

    name: str
    conclusion: Conclusion
    title: str
    summary: str
    text: str | None = None

    def output(self) -> dict[str, str]:
        out = {"title": clip(self.title, 255), "summary": clip(self.summary)}
        if self.text:
            out["text"] = clip(self.text)
        return out
