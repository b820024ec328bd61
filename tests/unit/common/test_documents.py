"""The S3 documents that cross stages are parsed once into typed models; the pointer has one reader."""

from __future__ import annotations

import json

import pytest

from services.common import keys
from services.common.documents import (
    MANIFEST_FORMAT,
    GoldManifest,
    SiteMeta,
    read_manifest,
    read_pointer,
    read_site_meta,
)


@pytest.fixture
def s3(moto_aws):
    from services.common import aws

    client = aws.client("s3")
    for bucket in ("gold", "site"):
        client.create_bucket(Bucket=bucket)
    return client


def test_a_manifest_written_before_the_format_version_reads_as_format_1_without_digests():
    legacy = GoldManifest.model_validate({"version": "v1", "status": "published", "years": [2025],
                                          "tables": {"fact_transactions": ["k"]}})  # fmt: skip
    assert (legacy.format_version, legacy.filings_digests) == (1, None)
    assert legacy.tables == {"fact_transactions": ["k"]} and legacy.row_counts == {}


def test_a_field_a_newer_writer_added_does_not_break_a_reader():
    newer = GoldManifest.model_validate({"version": "v9", "format_version": 9, "something_new": {"a": 1}})
    assert newer.version == "v9" and "something_new" not in newer.to_json()


def test_a_manifest_missing_its_version_is_refused():
    with pytest.raises(ValueError, match="version"):
        GoldManifest.model_validate({"status": "published"})


def test_the_pointer_reader_types_what_build_gold_wrote(s3):
    assert read_pointer(s3, "gold") is None
    manifest = GoldManifest(format_version=MANIFEST_FORMAT, version="20261202T000000Z-abc", years=[2025],
                            row_counts={"fact_transactions": 3}, filings_digests={"2025": "d"}, gold_bucket="gold")  # fmt: skip
    s3.put_object(Bucket="gold", Key=keys.GOLD_POINTER_KEY, Body=json.dumps(manifest.to_json()).encode())
    s3.put_object(Bucket="gold", Key=keys.gold_manifest_key(manifest.version), Body=json.dumps(manifest.to_json()).encode())
    pointer = read_pointer(s3, "gold")
    assert pointer is not None and pointer.manifest == manifest and pointer.version == manifest.version
    assert pointer.etag.strip('"')
    assert read_manifest(s3, "gold", manifest.version) == manifest
    assert read_manifest(s3, "gold", "gone") is None


def test_site_meta_round_trips_and_is_none_before_the_first_publish(s3):
    assert read_site_meta(s3, "site") is None
    meta = SiteMeta(gold_version="v1", answers_prefix=keys.answers_prefix("v1"), objects=3)
    s3.put_object(Bucket="site", Key=keys.SITE_META_KEY, Body=json.dumps(meta.model_dump(mode="json")).encode())
    assert read_site_meta(s3, "site") == meta


def test_a_meta_that_is_not_one_reads_as_none(s3):
    """Before typed documents, a broken meta fell back to the pointer; it still does."""
    for body in (b"{not json", b'{"answers_prefix": "api/v1/versions/x/"}', b"[]"):
        s3.put_object(Bucket="site", Key=keys.SITE_META_KEY, Body=body)
        assert read_site_meta(s3, "site") is None
