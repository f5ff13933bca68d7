"""An in-memory GitHub served over real HTTP, backed by real git, for tests and demos."""

from __future__ import annotations

from bot.sandbox.git import GitError
from bot.sandbox.sandbox import Push, Sandbox, Service
from bot.sandbox.traffic import Call, CallLog, Exchange, Fault, Hook
from bot.sandbox.webhooks import Delivery
from bot.sandbox.world import (
    Account,
    Advisory,
    AdvisoryVulnerability,
    ApiError,
    App,
    CheckRun,
    CheckSuite,
    Comment,
    Installation,
    Issue,
    IssueEvent,
    Label,
    PullRequest,
    Reaction,
    Release,
    ReleaseAsset,
    Repository,
    Review,
    Role,
    Status,
    Team,
)

__all__ = [
    "Account",
    "Advisory",
    "AdvisoryVulnerability",
    "ApiError",
    "App",
    "Call",
    "CallLog",
    "CheckRun",
    "CheckSuite",
    "Comment",
    "Delivery",
    "Exchange",
    "Fault",
    "GitError",
    "Hook",
    "Installation",
    "Issue",
    "IssueEvent",
    "Label",
    "PullRequest",
    "Push",
    "Reaction",
    "Release",
    "ReleaseAsset",
    "Repository",
    "Review",
    "Role",
    "Sandbox",
    "Service",
    "Status",
    "Team",
]
