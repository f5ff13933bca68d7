"""Ingest benchmark: signed deliveries per second through POST /webhook versus a bare endpoint."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SECRET = "bench-secret-0123456789"
CONNECTIONS = 32


def payload() -> bytes:
    """A push to a topic branch, padded to the size of a typical issue_comment (~12.6 KB)."""
    commit = {
        "id": "a" * 40,
        "message": "Fix the frobnicator\n\n" + "Details. " * 40,
        "author": {"name": "Dev", "email": "dev@example.com", "username": "dev"},
        "added": [],
        "removed": [],
        "modified": ["src/widget.py"],
    }
    body: dict[str, Any] = {
        "ref": "refs/heads/lts/v1.4/issue-123",
        "before": "0" * 40,
        "after": "a" * 40,
        "deleted": False,
        "commits": [commit] * 8,
        "head_commit": commit,
        "repository": {
            "id": 1,
            "full_name": "acme/widgets",
            "name": "widgets",
            "default_branch": "main",
            "owner": {"login": "acme", "id": 2, "type": "Organization"},
        },
        "installation": {"id": 1},
        "sender": {"login": "dev", "id": 3, "type": "User"},
    }
    raw = json.dumps(body).encode()
    pad = 12_600 - len(raw)
    if pad > 0:
        body["repository"]["description"] = "x" * pad
        raw = json.dumps(body).encode()
    return raw


# --- the two servers, each run in its own process ---------------------------------


def serve_bare(port: int) -> None:
    from aiohttp import web

    key = SECRET.encode()

    async def webhook(request: web.Request) -> web.Response:
        body = await request.read()
        expected = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
        given = request.headers.get("X-Hub-Signature-256", "")
        if not hmac.compare_digest(expected.encode(), given.encode()):
            return web.Response(status=401)
        return web.Response(status=200)

    async def healthz(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


def serve_real(port: int) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from bot.logs import configure_logging
    from bot.service import serve
    from bot.settings import load_settings

    pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        .decode()
    )
    settings = load_settings(
        {
            "GITHUB_APP_ID": "1",
            "GITHUB_PRIVATE_KEY": pem,
            "GITHUB_WEBHOOK_SECRET": SECRET,
            "GITHUB_API_URL": "http://127.0.0.1:9",
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "INFO"),
            "LOG_FORMAT": "json",
        }
    )
    # The service logs as it would in production; the lines go nowhere so the disk
    # is not part of the measurement.
    with open(os.devnull, "w") as devnull:
        configure_logging(settings.log_level, settings.LOG_FORMAT, devnull, cache=True)
        asyncio.run(serve(settings))


# --- the load generator -----------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    latencies: list[float]
    errors: int
    cpu_seconds: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_us(self) -> float:
        """Server CPU time per delivery, in microseconds."""
        return self.cpu_seconds / self.requests * 1e6

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def _connection(
    port: int,
    event: str,
    body: bytes,
    signature: str,
    count: int,
    latencies: list[float],
    errors: list[int],
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        "POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "User-Agent: GitHub-Hookshot/bench\r\n"
        f"X-GitHub-Event: {event}\r\n"
        f"X-Hub-Signature-256: {signature}\r\nContent-Length: {len(body)}\r\n"
    ).encode()
    try:
        for _ in range(count):
            request = head + b"X-GitHub-Delivery: " + uuid.uuid4().hex.encode() + b"\r\n\r\n"
            started = time.perf_counter()
            writer.write(request + body)
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if not status_line.startswith((b"HTTP/1.1 2", b"HTTP/1.0 2")):
                errors[0] += 1
    finally:
        writer.close()


async def _load(port: int, total: int, event: str = "push") -> tuple[float, list[float], int]:
    body = payload()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    latencies: list[float] = []
    errors = [0]
    per = total // CONNECTIONS
    started = time.perf_counter()
    await asyncio.gather(
        *(
            _connection(port, event, body, signature, per, latencies, errors)
            for _ in range(CONNECTIONS)
        )
    )
    return time.perf_counter() - started, latencies, errors[0]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # utime and stime are fields 14 and 15 of stat(5), counted after the command name.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Server:
    """A server process started for the benchmark and stopped after it."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.port = _free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.ingest", "--serve", kind, "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    async def ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            except OSError:
                await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.kind} server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


async def measure(
    name: str, kind: str, total: int, event: str, rss_total: int = 0
) -> tuple[Result, dict[str, float]]:
    server = Server(kind)
    extra: dict[str, float] = {}
    try:
        await server.ready()
        await _load(server.port, CONNECTIONS * 50, event)  # warm-up
        cpu_before = _cpu_seconds(server.proc.pid)
        seconds, latencies, errors = await _load(server.port, total, event)
        cpu = _cpu_seconds(server.proc.pid) - cpu_before
        if rss_total:
            extra["rss_before_mib"] = _rss_mib(server.proc.pid)
            sent = 0
            while sent < rss_total:
                _, _, more = await _load(server.port, min(32_000, rss_total - sent), event)
                errors += more
                sent += min(32_000, rss_total - sent)
            await asyncio.sleep(1)
            extra["rss_after_mib"] = _rss_mib(server.proc.pid)
            extra["rss_deliveries"] = float(sent + total)
        return Result(name, len(latencies), seconds, latencies, errors, cpu), extra
    finally:
        server.stop()


async def run(total: int = 20_000, rss_total: int = 100_000) -> dict[str, Any]:
    """Measure the bare endpoint and the service, one after the other, with one client.

    The service is measured twice: with an event no handler wants (the intake path:
    verify, parse, route, answer) and with a push it queues and processes in the same
    process (intake plus the worker's dispatch and its log line).
    """
    bare, _ = await measure("bare", "bare", total, "push")
    intake, _ = await measure("intake", "real", total, "sponsorship")
    handled, extra = await measure("handled", "real", total, "push", rss_total)
    print(f"ingest: {CONNECTIONS} connections, {total} signed deliveries of {len(payload())} bytes")
    print("  bare    = aiohttp endpoint that only checks the HMAC")
    print("  intake  = lts-bot POST /webhook, an event no handler wants (answered 202 ignored)")
    print("  handled = lts-bot POST /webhook, a push it queues and processes in-process")
    for r in (bare, intake, handled):
        print(
            f"  {r.name:<8}{r.rate:8.0f} deliveries/s   p50 {r.pct(0.50):6.2f} ms"
            f"   p99 {r.pct(0.99):6.2f} ms   server CPU {r.cpu_us:5.0f} us/delivery"
            f"   non-2xx {r.errors}"
        )
    print(
        f"  ratio intake/bare: {intake.rate / bare.rate:.2f}   "
        f"ratio handled/bare: {handled.rate / bare.rate:.2f}   (target >= 0.8, p99 < 10 ms)"
    )
    if extra:
        print(
            f"  RSS of the service: {extra['rss_before_mib']:.1f} MiB after warm-up, "
            f"{extra['rss_after_mib']:.1f} MiB after {int(extra['rss_deliveries'])} deliveries"
        )
    return {
        "bare_rate": bare.rate,
        "intake_rate": intake.rate,
        "handled_rate": handled.rate,
        "intake_ratio": intake.rate / bare.rate,
        "handled_ratio": handled.rate / bare.rate,
        "handled_p99_ms": handled.pct(0.99),
        **extra,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", choices=["bare", "real"])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--total", type=int, default=20_000)
    parser.add_argument("--rss-total", type=int, default=100_000)
    args = parser.parse_args()
    if args.serve == "bare":
        serve_bare(args.port)
    elif args.serve == "real":
        serve_real(args.port)
    else:
        asyncio.run(run(args.total, args.rss_total))


if __name__ == "__main__":
    main()
