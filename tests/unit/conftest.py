"""Unit-test fixtures: the ledger table in moto (in-process), with the DynamoDB operations recorded."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "LEDGER_TABLE": "ledger",
    "BRONZE_BUCKET": "bronze",
    "SILVER_BUCKET": "silver",
    "EVENTS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:events",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_TRACE_DISABLED": "true",
}


@pytest.fixture
def moto_aws(monkeypatch) -> Iterator[None]:
    """moto in process with the unit tests' environment, and clients and settings made anew for it."""
    from moto import mock_aws

    from services.common import aws, config, tables

    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        aws.reset_clients()
        config.settings.cache_clear()
        yield
    aws.reset_clients()
    config.settings.cache_clear()
    tables.configure()


@pytest.fixture
def ledger_table(moto_aws, monkeypatch) -> Iterator[list[str]]:
    """A fresh ledger table; yields the names of the DynamoDB operations pynamodb sent since."""
    from pynamodb.connection.base import Connection

    from services.common import tables

    calls: list[str] = []
    real = Connection._make_api_call

    def recorded(self, operation_name, operation_kwargs):
        calls.append(operation_name)
        return real(self, operation_name, operation_kwargs)

    monkeypatch.setattr(Connection, "_make_api_call", recorded)
    tables.configure(ledger="ledger", watermarks="watermarks")
    tables.RunItem.create_table(wait=True)
    calls.clear()
    yield calls
