"""The fork server's warm botocore loader (infra/local/preload.py), shared by a worker's sessions.

These also guard the botocore internals it relies on: the module-level `create_loader` each new
session calls for its `data_loader`, and the loader's cache."""

from __future__ import annotations

import boto3
import botocore.exceptions
import botocore.loaders
import botocore.session
import pytest

from infra.local import preload


@pytest.fixture
def shared(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(botocore.session, "create_loader", botocore.session.create_loader)  # undone after
    preload.share_loader()


def test_every_new_session_reads_through_the_warm_cache(shared):
    assert preload.LOADER is not None
    for session in (botocore.session.Session(), boto3.session.Session()._session):
        loader = session.get_component("data_loader")
        assert loader._cache is preload.LOADER._cache
    # boto3 adds its data folder to each session's loader: to its own search paths, not the warm one's.
    searched = list(preload.LOADER.search_paths)
    boto3.session.Session()
    assert preload.LOADER.search_paths == searched and loader.search_paths != searched


def test_a_session_with_its_own_data_path_keeps_its_own_loader(shared, monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
    loader = botocore.session.Session().get_component("data_loader")
    assert loader._cache is not preload.LOADER._cache and str(tmp_path) in loader.search_paths


def test_the_warm_loader_holds_what_a_client_reads(shared, monkeypatch):
    def from_disk(*args, **kwargs):
        raise AssertionError(f"read from disk: {args}")

    monkeypatch.setattr(botocore.loaders.JSONFileLoader, "load_file", from_disk)
    session = botocore.session.Session()
    for service in preload.SERVICES:
        session.create_client(service, region_name="eu-west-1", endpoint_url="http://127.0.0.1:9",
                              aws_access_key_id="k", aws_secret_access_key="s")


def test_a_failed_warm_up_leaves_each_session_its_own_loader(monkeypatch, tmp_path):
    def broken() -> None:
        raise botocore.exceptions.ConfigParseError(path="~/.aws/config")

    with monkeypatch.context() as patched:
        patched.setattr(botocore.session, "get_session", broken)
        assert preload._warm_loader() is None
    # The runtime's own data path is not warmed for workers that may not be given it.
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
    assert preload._warm_loader() is None
    monkeypatch.setattr(preload, "LOADER", None)
    monkeypatch.setattr(botocore.session, "create_loader", botocore.session.create_loader)
    preload.share_loader()
    assert botocore.session.Session().get_component("data_loader") is not None
    assert botocore.session.create_loader is preload._create_loader
