"""Helpers the sandbox's tests share: real git, and what the sandbox sent."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from bot.sandbox import Sandbox

REPO = "acme/widgets"
README = "# widgets\n"


# Real git, isolated from the machine's and the user's configuration.
_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "LC_ALL": "C",
}


def git(cwd: Path, *args: str) -> str:
    """Run real git (in a clone or a bare repository) and return what it printed."""
    return subprocess.run(
        ["git", "-C", str(cwd), *args],
        check=True,
        capture_output=True,
        text=True,
        env=_ENV | {"HOME": str(cwd)},
    ).stdout.strip()


def payloads(sandbox: Sandbox, event: str, action: str | None = None) -> list[dict[str, Any]]:
    """The payloads of every delivery of `event` (and `action`) so far, in order."""
    return [d.payload for d in sandbox.deliveries_of(event, action)]


def sent(sandbox: Sandbox, mark: int) -> list[tuple[str, str | None, str]]:
    """(event, action, sender login) of each delivery made since `len(deliveries)` was `mark`."""
    return [(d.event, d.action, d.payload["sender"]["login"]) for d in sandbox.deliveries[mark:]]


def git_try(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run real git and return its result, whether it succeeded or not (a conflict, say)."""
    return subprocess.run(
        ["git", "-C", str(cwd), *args],
        capture_output=True,
        text=True,
        env=_ENV | {"HOME": str(cwd)},
    )


def clone(bare: Path, where: Path, branch: str = "main") -> Path:
    """A working-tree clone of the sandbox's bare repository, on `branch`."""
    subprocess.run(
        ["git", "clone", "-q", "-b", branch, str(bare), str(where)],
        check=True,
        capture_output=True,
        env=_ENV | {"HOME": str(where.parent)},
    )
    return where


def conflicted(cwd: Path) -> set[str]:
    """The paths git left unmerged in a working tree."""
    return set(git(cwd, "diff", "--name-only", "--diff-filter=U").split())
