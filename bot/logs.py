"""Structured logging: structlog set up once, delivery context bound through contextvars."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections import deque
from collections.abc import MutableMapping
from typing import Any, TextIO

import orjson
import structlog

# Values that look like credentials are masked wherever they appear in a log line, so a
# secret that slips into an exception message or a URL still never reaches the log store.
_SECRET_PATTERNS = [
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)", re.S),
    re.compile(r"\b(gh[pousr]_[A-Za-z0-9_]{16,})\b"),
    re.compile(r"\b(eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})\b"),
    re.compile(r"(?i)((?:token|bearer)\s+)([A-Za-z0-9_.\-]{16,})"),
]
_SECRET_KEYS = {"authorization", "token", "secret", "password", "private_key", "jwt"}
# Only the most recent values are kept: installation tokens rotate hourly, and an old
# one is useless (and the list is scanned for every log line).
_extra_secrets: deque[str] = deque(maxlen=64)
_permanent_secrets: list[str] = []


def register_secret(value: str, *, permanent: bool = False) -> None:
    """Mask this exact value in every later log line (the webhook secret, a token)."""
    if not value or len(value) < 4:
        return
    # A JSON log line escapes quotes and backslashes: mask the escaped form as well.
    escaped = json.dumps(value)[1:-1]
    for form in {value, escaped}:
        if form not in _extra_secrets and form not in _permanent_secrets:
            (_permanent_secrets if permanent else _extra_secrets).append(form)


# Cheap substring tests that rule out each pattern before its regex runs; the
# redaction pass runs on every log line.
_PATTERN_HINTS = [("PRIVATE KEY",), ("gh",), ("eyJ",), ("oken", "OKEN", "earer", "EARER")]


def redact_text(text: str) -> str:
    """Mask registered secrets and credential-shaped strings in one rendered line."""
    for secret in (*_permanent_secrets, *_extra_secrets):
        if secret in text:
            text = text.replace(secret, "[redacted]")
    for pattern, hints in zip(_SECRET_PATTERNS, _PATTERN_HINTS, strict=True):
        if not any(h in text for h in hints):
            continue
        if pattern.groups >= 2:
            text = pattern.sub(lambda m: m.group(1) + "[redacted]", text)
        else:
            text = pattern.sub("[redacted]", text)
    return text


def _mask_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: "[redacted]" if str(k).lower() in _SECRET_KEYS else _mask_keys(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_mask_keys(v) for v in value]
    return value


def mask_secret_keys(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Replace the values of credential-named keys, at any depth, before rendering."""
    for key, value in event_dict.items():
        if key.lower() in _SECRET_KEYS:
            event_dict[key] = "[redacted]"
        elif isinstance(value, dict | list | tuple):
            event_dict[key] = _mask_keys(value)
    return event_dict


def _redacting(renderer: Any) -> Any:
    # Redact the rendered line once rather than every value: one pass, and it also
    # catches secrets inside formatted exceptions.
    def render(logger: Any, method: str, event_dict: MutableMapping[str, Any]) -> str:
        return redact_text(renderer(logger, method, event_dict))

    return render


def _orjson_dumps(obj: Any, **_kw: Any) -> str:
    return orjson.dumps(obj, default=repr).decode()


def configure_logging(
    level: int = logging.INFO,
    fmt: str = "json",
    stream: TextIO | None = None,
    *,
    cache: bool = False,
) -> None:
    """Route structlog (and stdlib logging, for libraries) to one stream in one format.

    `cache` freezes each logger's configuration at its first use, which the service
    wants (it configures once, and a log call then costs no lookup); tests reconfigure.
    """
    out = stream or sys.stderr
    renderer: Any
    if fmt == "console":
        renderer = structlog.dev.ConsoleRenderer(colors=False, event_key="msg")
    else:
        renderer = structlog.processors.JSONRenderer(serializer=_orjson_dumps)
    structlog.configure(
        processors=[
            # The log message goes under "msg" so that "event" can carry the GitHub
            # event of the delivery being worked on (bound through contextvars).
            structlog.processors.EventRenamer("msg"),
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            mask_secret_keys,
            _redacting(renderer),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=cache,
    )
    # Library loggers (aiohttp access log, asyncio) go through the same redaction.
    handler = logging.StreamHandler(out)
    handler.setFormatter(_RedactingFormatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(level, logging.WARNING))


class _RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
