"""An in-memory GitHub served over real HTTP, backed by real git, for tests and demos."""

from __future__ import annotations

from bot.sandbox.git import GitError
from bot.sandbox.sandbox import Push, Sandbox, Service
from bot.sandbox.traffic import Call, CallLog, Exchange, Fault
from bot.sandbox.webhooks import Delivery
from bot.sandbox.world import Account, ApiError, App, CheckRun, Installation, Repository

__all__ = [
    "Account",
    "ApiError",
    "App",
    "Call",
    "CallLog",
    "CheckRun",
    "Delivery",
    "Exchange",
    "Fault",
    "GitError",
    "Installation",
    "Push",
    "Repository",
    "Sandbox",
    "Service",
]
