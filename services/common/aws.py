"""Shared boto3 clients: created once per process, reused across invocations."""

from __future__ import annotations

from functools import cache

import boto3
from botocore.config import Config

# How many requests a stage runs at once through one client (publish_api's writes, build_gold's
# reads): half the client's connection pool, so the handler's other requests never wait for one.
CONCURRENT_REQUESTS = 16
_CONFIG = Config(retries={"mode": "standard"}, max_pool_connections=2 * CONCURRENT_REQUESTS)


@cache
def client(service: str):
    return boto3.client(service, config=_CONFIG)


def reset_clients() -> None:
    """Forget cached clients (tests and the local runtime point them at a new endpoint)."""
    client.cache_clear()
