"""The JSON documents in S3 that one stage writes and later ones read, typed: a reader parses
one once and gets named fields, and `schemas/documents/` is generated from these models.

- `GoldManifest`: what one Gold build wrote (`keys.gold_manifest_key`), published or rejected;
  the pointer (`keys.GOLD_POINTER_KEY`) is a copy of the live version's. Written by build_gold,
  read by build_gold (the next build, retention), publish_api, the API and the CLI.
- `SiteMeta`: `api/meta.json` in the site bucket, written last by publish_api (the flip), read
  by the API and by Gold retention.

`read_pointer` is the one reader of the Gold pointer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field

from services.common import keys, objects

# 2: `format_version` and `filings_digests` are written. A manifest without `format_version` was
# written before it existed (1); one without digests is rebuilt once by the next run.
MANIFEST_FORMAT = 2


class _Document(BaseModel):
    # A field a newer writer adds must not break an older reader during a deploy.
    model_config = ConfigDict(extra="ignore", frozen=True)


class GoldManifest(_Document):
    format_version: int = Field(1, description="The manifest's layout (MANIFEST_FORMAT); absent: 1")
    version: str
    status: Literal["published", "rejected"] = "published"
    built_at: str | None = None
    run_id: str | None = None
    previous_version: str | None = Field(None, description="The version live when this one was built")
    years: list[int] = Field(default_factory=list)
    rebuilt_years: list[int] = Field(default_factory=list)
    row_counts: dict[str, int] = Field(default_factory=dict)
    quality: dict[str, Any] = Field(default_factory=dict, description="The quality gate's report")
    legislators_sha256: str | None = None
    former_legislators_sha256: str | None = None
    filings_digests: dict[str, str | None] | None = Field(
        None, description="Per year, the digest of the index snapshot built from; absent in format 1")
    silver_bucket: str | None = None
    silver_tables: dict[str, dict[str, str]] = Field(default_factory=dict, description="table -> year -> key")
    gold_bucket: str | None = None
    tables: dict[str, list[str]] = Field(default_factory=dict, description="table -> Parquet keys")

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class SiteMeta(_Document):
    gold_version: str
    answers_prefix: str | None = None  # None: the API computes every answer from Gold
    previous_gold_version: str | None = None
    gold_bucket: str | None = None
    built_at: str | None = None
    published_at: str | None = None
    run_id: str | None = None
    years: list[int] = Field(default_factory=list)
    row_counts: dict[str, int] = Field(default_factory=dict)
    objects: int = 0
    members: int = 0
    tickers: int = 0
    static_sha256: str | None = None


# What `disclosures schemas` exports to schemas/documents/ (the pointer is a GoldManifest).
DOCUMENTS: dict[str, type[BaseModel]] = {"gold-manifest": GoldManifest, "site-meta": SiteMeta}


@dataclass(frozen=True)
class Pointer:
    """The live Gold version's manifest, and the ETag a compare-and-swap of the pointer needs."""

    manifest: GoldManifest
    etag: str

    @property
    def version(self) -> str:
        return self.manifest.version


def read_pointer(s3: Any, bucket: str) -> Pointer | None:
    try:
        response = s3.get_object(Bucket=bucket, Key=keys.GOLD_POINTER_KEY)
    except ClientError as error:
        if objects.is_missing(error):
            return None
        raise
    return Pointer(GoldManifest.model_validate(json.loads(response["Body"].read())), response["ETag"])


def read_manifest(s3: Any, bucket: str, version: str) -> GoldManifest | None:
    found = objects.get_json(s3, bucket, keys.gold_manifest_key(version))
    return None if found is None else GoldManifest.model_validate(found)


def read_site_meta(s3: Any, site_bucket: str) -> SiteMeta | None:
    """The published meta; None before the first publish, and for one that is not a meta (hand
    edited, cut short): the API then serves the pointer's version and the next publish rewrites it."""
    try:
        found = objects.get_json(s3, site_bucket, keys.SITE_META_KEY)
        return None if found is None else SiteMeta.model_validate(found)
    except (ValueError, UnicodeDecodeError):  # JSONDecodeError and ValidationError are ValueErrors
        return None
