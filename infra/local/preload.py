"""What every worker would read or import on its own, done once by the fork server
(infra/local/functions.py imports this module there).

- **botocore's data.** A botocore client reads its service's JSON model, endpoint rules,
  partitions and retry settings from disk when it is created: about 0.2 s of CPU for the
  services the functions use, paid by each of a stack's dozen workers and again by each botocore
  session a worker opens (boto3's, PynamoDB's, Powertools'). The fork server reads them into one
  loader's cache; `share_loader` in a worker gives every botocore session it opens a loader of
  its own that reads through that cache. A Lambda sandbox reads the data on its cold start: this
  saves the local stack's CPU, it changes no behaviour.
- **pandas, where it is installed.** It is no dependency of the functions, but pyarrow imports
  it on its first conversion wherever it is installed (the dev extra has it, for the tests):
  0.3 s of CPU in each worker that reads or writes Parquet.

Neither may end the fork server (which survives only an ImportError of a preloaded module):
whatever fails here leaves the workers to do it themselves.
"""

from __future__ import annotations

import contextlib
import importlib

import botocore.loaders
import botocore.session

# The services the functions' own code and its libraries call.
SERVICES = ("s3", "sqs", "sns", "dynamodb", "cloudwatch")


def _warm_loader() -> botocore.loaders.Loader | None:
    try:
        session = botocore.session.get_session()
        if session.get_config_variable("data_path"):
            return None  # the runtime's own models: a worker's session might not be given them
        for service in SERVICES:
            # Placeholder endpoint and keys: creating a client sends nothing, and explicit keys
            # keep it from looking for credentials.
            session.create_client(service, region_name="us-east-1", endpoint_url="http://127.0.0.1:9",
                                  aws_access_key_id="preload", aws_secret_access_key="preload")
        return session.get_component("data_loader")
    except Exception:  # noqa: BLE001 - only a head start (a broken ~/.aws/config): workers read their own
        return None


LOADER = _warm_loader()
_create_loader = botocore.session.create_loader

with contextlib.suppress(Exception):  # not installed, or broken: the first conversion will say so
    importlib.import_module("pandas")


def share_loader() -> None:
    """Every botocore session this process opens from now on reads through the warm cache."""
    if LOADER is None:
        return
    warm = LOADER

    def create_loader(search_path_string: str | None = None) -> botocore.loaders.Loader:
        if search_path_string:  # a custom AWS_DATA_PATH: a loader of its own, as botocore gives it
            return _create_loader(search_path_string)
        # Search paths of its own (boto3 adds its data folder to each session's loader); the
        # cache shared (botocore's constructor takes no cache).
        loader = botocore.loaders.Loader(extra_search_paths=list(warm.search_paths), include_default_search_paths=False)
        loader._cache = warm._cache
        return loader

    botocore.session.create_loader = create_loader
