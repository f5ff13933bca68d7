"""`make bench`: runs every benchmark and prints its figures (never fails on timing)."""

from __future__ import annotations

import asyncio

from bench import backports, gates, ingest, releases, sweep


def main() -> None:
    asyncio.run(gates.run())
    asyncio.run(backports.run())
    asyncio.run(releases.run())
    asyncio.run(sweep.run())
    asyncio.run(ingest.run())


if __name__ == "__main__":
    main()
