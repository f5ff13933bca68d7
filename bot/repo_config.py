"""Loads each repository's `.github/lts.yml` from its default branch, cached by ETag."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.config import CONFIG_PATH, ConfigResult, config_from_text
from bot.metrics import Metrics

if TYPE_CHECKING:
    from bot.github.client import GitHubPort


class ConfigStore:
    """Reads the policy file for a repository.

    Only the default branch is read: a pull request must never be able to change the
    policy that judges it. The GitHub port's per-installation ETag cache turns repeated
    reads into 304s, which GitHub does not count against the rate limit, and parsed
    results are cached by blob sha, so an unchanged file is neither fetched nor parsed
    twice.
    """

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    async def load(
        self, gh: GitHubPort, owner: str, repo: str, default_branch: str
    ) -> ConfigResult:
        file = await gh.get_file(owner, repo, CONFIG_PATH, ref=default_branch)
        if file is None:
            result = config_from_text(None, None)
        else:
            result = config_from_text(file.content, file.sha)
        self._metrics.config_loads.inc(result.source)
        return result
