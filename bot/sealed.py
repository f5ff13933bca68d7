"""Signed JSON blocks the bot hides in comments and issue bodies it owns."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from typing import Any


def _sign(payload: str, key: bytes, domain: bytes) -> str:
    # Each kind of block signs under its own domain, so one can never pass for another.
    return hmac.new(key, domain + payload.encode("ascii"), hashlib.sha256).hexdigest()


def seal(data: dict[str, Any], key: bytes, domain: bytes) -> str:
    """`payload.signature`: the data as url-safe base64 JSON, and its HMAC-SHA256."""
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True)
    payload = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    return f"{payload}.{_sign(payload, key, domain)}"


def unseal(payload: str, signature: str, key: bytes, domain: bytes) -> Any:
    """The data of a sealed block; None when the signature does not match or it is not JSON."""
    if not hmac.compare_digest(signature, _sign(payload, key, domain)):
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return None


def find_sealed(body: str, block: re.Pattern[str], key: bytes, domain: bytes) -> Any:
    """The data of the one sealed block `block` finds in `body` (groups: payload, signature).

    None when there is no such block, more than one (someone pasted a copy), or its
    signature does not match.
    """
    found = block.findall(body)
    if len(found) != 1:
        return None
    payload, signature = found[0]
    return unseal(payload, signature, key, domain)
