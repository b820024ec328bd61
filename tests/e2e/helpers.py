"""Helpers the end-to-end tests share: what is in the buckets, how to edit a mirror's index."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from infra.local.runtime import LocalRuntime
from services.common import keys as object_keys


def keys(runtime: LocalRuntime, bucket_env: str, prefix: str = "") -> list[str]:
    s3 = runtime.client("s3")
    bucket = runtime.provisioned.environment[bucket_env]
    out: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        out += [o["Key"] for o in page.get("Contents", [])]
    return sorted(out)


def object_versions(runtime: LocalRuntime, bucket_env: str) -> int:
    s3 = runtime.client("s3")
    bucket = runtime.provisioned.environment[bucket_env]
    return len(s3.list_object_versions(Bucket=bucket).get("Versions", []))


def index_zip(mirror: Path, year: int = 2025) -> Path:
    return mirror / "public_disc" / "financial-pdfs" / f"{year}FD.zip"


def rewrite_index(mirror: Path, edit, year: int = 2025) -> None:
    """Rewrite {year}FD.xml inside the mirror's zip with edit(xml_text) -> xml_text."""
    path = index_zip(mirror, year)
    with zipfile.ZipFile(path) as archive:
        xml = archive.read(f"{year}FD.xml").decode("utf-8-sig")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{year}FD.xml", edit(xml))
    path.write_bytes(buffer.getvalue())


def member_xml(doc_id: str, filing_type: str, last: str = "Doe", first: str = "Jane", state: str = "CA11",
               date: str = "1/15/2025", year: int = 2025) -> str:
    return (f"<Member><Prefix>Hon.</Prefix><Last>{last}</Last><First>{first}</First><Suffix /><FilingType>{filing_type}"
            f"</FilingType><StateDst>{state}</StateDst><Year>{year}</Year><FilingDate>{date}</FilingDate>"
            f"<DocID>{doc_id}</DocID></Member>")


def add_members(mirror: Path, *members: str, year: int = 2025) -> None:
    rewrite_index(mirror, lambda xml: xml.replace("</FinancialDisclosure>", "".join(members) + "</FinancialDisclosure>"), year)


def gold_tables(s3: Any, bucket: str) -> dict[str, list[dict]]:
    """Every row of every table of the live Gold version, by table name."""
    pointer = json.loads(s3.get_object(Bucket=bucket, Key=object_keys.GOLD_POINTER_KEY)["Body"].read())
    return {name: [row for key in table_keys
                   for row in pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read())).to_pylist()]
            for name, table_keys in pointer["tables"].items()}
