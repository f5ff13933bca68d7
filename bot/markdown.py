"""Markdown helpers for what the bot writes: text from users shown inert, and plurals."""

from __future__ import annotations

import re

_BACKTICKS = re.compile(r"`+")


def code(text: str) -> str:
    """`text` as inline code; a fence longer than any backtick run inside keeps it literal.

    Branch names, commit subjects and values quoted from files may hold backticks, and
    inline code keeps Markdown, mentions and links in them from doing anything.
    """
    fence = "`" * (max((len(run) for run in _BACKTICKS.findall(text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def code_block(text: str, lang: str = "text") -> str:
    fence = "`" * max(3, max((len(run) for run in _BACKTICKS.findall(text)), default=0) + 1)
    return f"{fence}{lang}\n{text}\n{fence}"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count:,} {noun}s"
