"""HS256 tokens for AUTH_MODE=jwt servers, signed with the standard library."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

SECRET = "python-client-tests-secret-0123456789abcdef"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def mint(sub: str, scope: str, ttl_seconds: int = 3_600, secret: str = SECRET) -> str:
    now = int(time.time())
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64(json.dumps({"sub": sub, "scope": scope, "iat": now, "exp": now + ttl_seconds}).encode())
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"
