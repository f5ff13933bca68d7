"""GitHub access for the bot: App credentials, a retrying client and the typed port."""

from __future__ import annotations

from bot.github.auth import InstallationToken, InstallationTokens, make_app_jwt
from bot.github.client import (
    FileContent,
    GitHubApp,
    GitHubClient,
    GitHubPort,
    RetryPolicy,
    UpsertOutcome,
    endpoint_template,
    idempotent_posts,
)
from bot.github.errors import GitHubAuthError

__all__ = [
    "FileContent",
    "GitHubApp",
    "GitHubAuthError",
    "GitHubClient",
    "GitHubPort",
    "InstallationToken",
    "InstallationTokens",
    "RetryPolicy",
    "UpsertOutcome",
    "endpoint_template",
    "idempotent_posts",
    "make_app_jwt",
]
