"""The `lts/config` check run: whether `.github/lts.yml` is usable, and what it sets up."""

from __future__ import annotations

from typing import get_args

from bot.config import (
    CONFIG_PATH,
    ROLE_DEFAULT_PERMISSION,
    ConfigError,
    ConfigResult,
    RepoConfig,
    RoleName,
)
from bot.decisions import CheckRunDecision
from bot.markdown import code, code_block, plural

CHECK_NAME = "lts/config"

# The summary stays readable; the full list goes to the check run's text.
MAX_PROBLEMS_IN_SUMMARY = 50

UNTIL_FIXED = (
    "Until it is fixed, lts-bot takes no action in this repository except reporting this error."
)


def evaluate(result: ConfigResult, *, path: str = CONFIG_PATH) -> CheckRunDecision:
    """Success with what the file configures, or failure listing every problem."""
    if result.error is not None:
        return _failure(result.error, path)
    if result.source == "absent":
        summary = (
            f"This repository has no `{path}`, so lts-bot uses the defaults below. "
            f"Add `{path}` on the default branch to list your LTS lines and roles; the "
            "configuration reference is `docs/configuration.md` in lts-bot, and "
            "`lts-bot config-schema` prints a JSON Schema for editors.\n\n"
            + _describe(result.config)
        )
        return CheckRunDecision(CHECK_NAME, "success", f"No {path}: using defaults", summary)
    summary = f"`{path}` is valid.\n\n" + _describe(result.config)
    return CheckRunDecision(CHECK_NAME, "success", "LTS configuration is valid", summary)


def should_report(result: ConfigResult, *, file_changed: bool) -> bool:
    """Whether a new head of the default branch gets an `lts/config` check run.

    A valid config is reported only when the file changed, so a quiet repository gets no
    extra check run on every push; an invalid one is reported on every new head, so the
    failure stays in sight until someone fixes it.
    """
    return file_changed or result.error is not None


def config_error_notice(error: ConfigError) -> str:
    """A short markdown block appended to every status lts-bot posts while the file is broken."""
    count = len(error.problems)
    first = error.problems[0].render(error.path) if error.problems else error.path
    more = f" and {count - 1} more" if count > 1 else ""
    return (
        "> [!WARNING]\n"
        f"> `{error.path}` has {plural(count, 'problem')}, so lts-bot is not acting on this "
        f"repository: {code(first)}{more}. Fix the file on the default branch; the "
        f"`{CHECK_NAME}` check run lists every problem."
    )


def _failure(error: ConfigError, path: str) -> CheckRunDecision:
    lines = [problem.render(path) for problem in error.problems]
    shown = lines[:MAX_PROBLEMS_IN_SUMMARY]
    if len(lines) > len(shown):
        shown.append(f"… and {len(lines) - len(shown)} more (see below)")
    summary = "\n".join(
        [
            f"lts-bot cannot use `{path}` from the default branch:",
            "",
            code_block("\n".join(shown)),
            "",
            f"**What to do:** fix the file on the default branch (changes in a pull request "
            f"are read once it is merged). `lts-bot check-config {path}` checks it locally.",
            "",
            UNTIL_FIXED,
        ]
    )
    text = code_block("\n".join(lines)) if len(lines) > MAX_PROBLEMS_IN_SUMMARY else None
    title = f"{plural(len(lines), 'problem')} in {path}"
    return CheckRunDecision(CHECK_NAME, "failure", title, summary, text)


def _describe(config: RepoConfig) -> str:
    out = ["### LTS lines", ""]
    if config.lines:
        out += ["| Line | Branch | Phase | End of life |", "| --- | --- | --- | --- |"]
        out += [
            f"| {line.label} | `{line.branch}` | {line.phase.value} | {line.eol.isoformat()} |"
            for line in config.lines
        ]
    else:
        out.append("None: lts-bot manages no `release-lts/` branches until `lines` lists some.")
    out += ["", "### Roles", ""]
    for role in get_args(RoleName):
        members = config.roles.members(role)
        if members:
            who = ", ".join(str(member) for member in members)
        else:
            who = f"anyone with {ROLE_DEFAULT_PERMISSION[role]} permission or above (default)"
        out.append(f"- **{role}**: {who}")
    sla = config.sla
    triage = sla.triage
    holidays = ", ".join(day.isoformat() for day in sla.holidays) or "none"
    out += [
        "",
        "### SLA",
        "",
        f"- Triage: critical {triage.critical}, high {triage.high}, "
        f"medium {triage.medium}, low {triage.low}",
        f"- Plan: {sla.plan}",
        f"- Business days counted in {sla.timezone}; holidays: {holidays}",
        "",
        "### Required checks",
        "",
    ]
    if config.checks.required:
        out += [f"- {code(name)}" for name in config.checks.required]
    else:
        out.append("None.")
    return "\n".join(out)
