"""Command line: lts-bot serve, sweep, report, demo, sandbox, check-config, config-schema."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from bot import __version__


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lts-bot",
        description="A GitHub App that runs a project's Long-Term-Support process.",
    )
    parser.add_argument("--version", action="version", version=f"lts-bot {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("serve", help="run the webhook service (settings from the environment)")
    demo = sub.add_parser("demo", help="run the bot's main job against an embedded sandbox")
    demo.add_argument("--json", action="store_true", help="print machine-readable events")
    sandbox = sub.add_parser(
        "sandbox", help="serve a sandbox GitHub on this machine for a real `lts-bot serve`"
    )
    sandbox.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any)")
    sandbox.add_argument(
        "--webhook-url",
        default=None,
        help="where to deliver webhooks, e.g. http://127.0.0.1:8080/webhook",
    )
    check = sub.add_parser("check-config", help="validate a .github/lts.yml file locally")
    check.add_argument("path", type=Path, help="path to the file, e.g. .github/lts.yml")
    sub.add_parser("config-schema", help="print the JSON Schema of .github/lts.yml")
    sweep = sub.add_parser(
        "sweep", help="run one reconciling sweep now (reminders, stale gates, missed backports)"
    )
    sweep.add_argument("--repo", default=None, help="only this repository (owner/name)")
    sweep.add_argument("--dry-run", action="store_true", help="print what it would do, do nothing")
    rep = sub.add_parser(
        "report", help="print the LTS process metrics of a repository (from GitHub's state)"
    )
    rep.add_argument("--repo", required=True, help="the repository, owner/name")
    rep.add_argument(
        "--since", default=None, help="only tickets and releases from DATE (YYYY-MM-DD)"
    )
    rep.add_argument("--format", choices=("markdown", "json"), default="markdown")
    rep.add_argument(
        "--post", action="store_true", help="also post or update this week's report issue"
    )
    return parser


def _serve() -> int:
    from bot.logs import configure_logging
    from bot.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc.render(), file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.LOG_FORMAT, cache=True)
    from bot.service import serve

    return asyncio.run(serve(settings))


def _sweep(repo: str | None, dry_run: bool) -> int:
    from bot.logs import configure_logging
    from bot.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc.render(), file=sys.stderr)
        return 2
    if repo is not None and repo.count("/") != 1:
        print(f"--repo takes owner/name, got {repo!r}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.LOG_FORMAT, cache=True)
    from bot.sweep_cli import sweep_once

    return asyncio.run(sweep_once(settings, repo=repo, dry_run=dry_run, out=sys.stdout))


def _report(repo: str, since: str | None, fmt: str, post: bool) -> int:
    import datetime as dt

    from bot.logs import configure_logging
    from bot.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc.render(), file=sys.stderr)
        return 2
    owner, _, name = repo.partition("/")
    if not owner or not name or "/" in name:
        print(f"--repo takes owner/name, got {repo!r}", file=sys.stderr)
        return 2
    try:
        start = dt.date.fromisoformat(since) if since else None
    except ValueError:
        print(f"--since takes a date such as 2026-11-01, got {since!r}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.LOG_FORMAT, cache=True)
    from bot.report_cli import report_once

    return asyncio.run(
        report_once(
            settings,
            repo=repo,
            since=start,
            fmt="json" if fmt == "json" else "markdown",
            post=post,
            out=sys.stdout,
        )
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return _serve()
    if args.command == "sweep":
        return _sweep(args.repo, args.dry_run)
    if args.command == "report":
        return _report(args.repo, args.since, args.format, args.post)
    if args.command == "demo":
        from bot.demo import run_demo

        return asyncio.run(run_demo(json_output=args.json))
    if args.command == "sandbox":
        from bot.sandbox.cli import run_sandbox

        return asyncio.run(
            run_sandbox(port=args.port, webhook_url=args.webhook_url, out=sys.stdout)
        )
    if args.command == "check-config":
        from bot.config import check_config_file

        return check_config_file(args.path, sys.stdout)
    if args.command == "config-schema":
        from bot.config import print_config_schema

        return print_config_schema(sys.stdout)
    raise AssertionError(args.command)  # argparse rejects unknown commands first


if __name__ == "__main__":
    sys.exit(main())
