"""Fixtures for the sandbox's own tests: a repository with the App installed, and a client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from sandbox_helpers import README, REPO

from bot.sandbox import Sandbox


@pytest.fixture
async def widgets(sandbox: Sandbox) -> int:
    """acme/widgets with a README on main, the App installed on it, and users bob and carol."""
    sandbox.add_user("bob")
    sandbox.add_user("carol")
    await sandbox.create_repo(REPO, files={"README.md": README})
    return sandbox.install([REPO])


@pytest.fixture
async def gh(
    sandbox: Sandbox, widgets: int, mint_jwt: Callable[..., str]
) -> AsyncIterator[httpx.AsyncClient]:
    """A client on the sandbox holding an installation token for acme/widgets (the App)."""
    async with httpx.AsyncClient(base_url=sandbox.url) as client:
        minted = await client.post(
            f"/app/installations/{widgets}/access_tokens",
            headers={"Authorization": f"Bearer {mint_jwt()}"},
        )
        client.headers["Authorization"] = f"token {minted.json()['token']}"
        yield client
