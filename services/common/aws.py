"""Shared boto3 clients: created once per process, reused across invocations."""

from __future__ import annotations

from functools import cache

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard"}, max_pool_connections=32)


@cache
def client(service: str):
    return boto3.client(service, config=_CONFIG)


def reset_clients() -> None:
    """Forget cached clients (tests and the local runtime point them at a new endpoint)."""
    client.cache_clear()
