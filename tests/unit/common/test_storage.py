"""Immutable objects are written once, by one conditional PUT."""

from __future__ import annotations

import pytest


@pytest.fixture
def bucket(moto_aws):
    from services.common import aws

    aws.client("s3").create_bucket(Bucket="bronze")
    return "bronze"


def test_put_if_absent_writes_once_and_never_replaces(bucket):
    from services.common import aws, storage

    assert storage.put_if_absent(bucket, "k", b"first", {"run-id": "r1"}, "application/pdf") is True
    assert storage.put_if_absent(bucket, "k", b"second", {"run-id": "r2"}, "application/pdf") is False
    stored = aws.client("s3").get_object(Bucket=bucket, Key="k")
    assert (stored["Body"].read(), stored["Metadata"]) == (b"first", {"run-id": "r1"})
