"""build_gold's reads of silver (services/build_gold/store.py), against a fake S3 client that
records its requests: what is read, in which order it comes back, and that the reads overlap."""

from __future__ import annotations

import io
import threading
from typing import Any

import pytest
from botocore.exceptions import ClientError

from services.build_gold import store
from services.build_gold.compact import SilverFailure
from services.common import keys

PREFIX = keys.documents_year_prefix(2025)


class FakeS3:
    """list_objects_v2 (pages of two keys) and get_object; `before_get` runs inside each GET."""

    def __init__(self, objects: dict[str, bytes | None], before_get: Any = None) -> None:
        self.objects, self.before_get = objects, before_get
        self.gets: list[str] = []
        self._lock = threading.Lock()

    def get_paginator(self, name: str) -> Any:
        assert name == "list_objects_v2"
        listed = sorted(self.objects, reverse=True)  # S3 lists in key order; the reader must not rely on it

        class Paginator:
            @staticmethod
            def paginate(Bucket: str, Prefix: str) -> Any:  # noqa: N803 - boto3's names
                assert (Bucket, Prefix) == ("silver", PREFIX)
                for start in range(0, len(listed), 2):
                    yield {"Contents": [{"Key": k} for k in listed[start:start + 2]]}

        return Paginator()

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803 - boto3's names
        with self._lock:
            self.gets.append(Key)
        if self.before_get:
            self.before_get()
        body = self.objects[Key]
        if body is None:
            raise ClientError({"Error": {"Code": "NoSuchKey"}}, "GetObject")
        return {"Body": io.BytesIO(body)}


def _doc(doc_id: str) -> str:
    return keys.document_key(2025, doc_id)


def test_every_document_is_read_once_and_comes_back_in_key_order_with_its_failures():
    s3 = FakeS3({
        _doc("3"): b'{"doc_id": "3"}',
        _doc("1"): b'{"doc_id": "1"}',
        keys.document_prefix(2025, "1") + "page_text.json": b"not read",
        _doc("2"): None,  # listed, then deleted before the read
        _doc("4"): b"{not json",
    })  # fmt: skip
    found, failures = store.read_documents(s3, "silver", 2025)
    assert [(o.key, o.record) for o in found] == [(_doc("1"), {"doc_id": "1"}), (_doc("3"), {"doc_id": "3"})]
    assert [f.key for f in failures] == [_doc("2"), _doc("4")]
    assert failures[0] == SilverFailure(_doc("2"), "listed but gone when read")
    assert failures[1].reason.startswith("unparseable JSON")
    assert sorted(s3.gets) == [_doc(n) for n in "1234"]


def test_the_documents_are_read_several_at_a_time():
    # Each GET waits until four are in flight at once: read one after another, the first waits alone.
    together = threading.Barrier(4, timeout=10)
    s3 = FakeS3({_doc(str(n)): b"{}" for n in range(8)}, before_get=together.wait)
    found, failures = store.read_documents(s3, "silver", 2025)
    assert (len(found), failures) == (8, [])


def test_an_error_other_than_missing_fails_the_read():
    def refuse() -> None:
        raise ClientError({"Error": {"Code": "AccessDenied"}}, "GetObject")

    with pytest.raises(ClientError, match="AccessDenied"):
        store.read_documents(FakeS3({_doc("1"): b"{}"}, before_get=refuse), "silver", 2025)
