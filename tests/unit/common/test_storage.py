"""Immutable objects are written once, by one conditional PUT."""

from __future__ import annotations

import pytest


@pytest.fixture
def bucket(monkeypatch):
    from moto import mock_aws

    from services.common import aws
    from tests.unit.conftest import ENV

    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        aws.reset_clients()
        aws.client("s3").create_bucket(Bucket="bronze")
        yield "bronze"
    aws.reset_clients()


def test_put_if_absent_writes_once_and_never_replaces(bucket):
    from services.common import aws, storage

    assert storage.put_if_absent(bucket, "k", b"first", {"run-id": "r1"}, "application/pdf") is True
    assert storage.put_if_absent(bucket, "k", b"second", {"run-id": "r2"}, "application/pdf") is False
    stored = aws.client("s3").get_object(Bucket=bucket, Key="k")
    assert (stored["Body"].read(), stored["Metadata"]) == (b"first", {"run-id": "r1"})
