"""The API before any Gold exists: clear answers, never a crash."""

from __future__ import annotations

from gold_env import gold_stack
from test_api_routes import call


def test_no_data_yet():
    """Before any Gold: health says missing, data routes answer 503 JSON, never a crash."""
    with gold_stack(publish=False) as env:
        from services.api.app import store

        s3 = env["s3"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket="gold"):
            for item in page.get("Contents", []):
                s3.delete_object(Bucket="gold", Key=item["Key"])
        store.reset()
        status, health = call("/v1/health")
        assert status == 200 and health["status"] == "missing" and health["stale"] is True
        status, body = call("/v1/summary")
        assert status == 503 and body["error"] == "unavailable"
