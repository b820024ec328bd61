"""The botocore data every worker reads, read once by the fork server (infra/local/functions.py).

A botocore client reads its service's JSON model, endpoint rules, partitions and retry settings
from disk when it is created: about 0.2 s of CPU for the services the functions use, paid by
each of a stack's dozen workers and again by each botocore session a worker opens (boto3's,
PynamoDB's, Powertools'). The fork server imports this module, which reads them into one loader;
`share_loader` in a worker makes every botocore session it opens use that loader, as the
sessions of one process would share one if botocore shared it. The data is only read. A Lambda
sandbox reads it on its cold start: this saves the local stack's CPU, it changes no behaviour.
"""

from __future__ import annotations

import botocore.loaders
import botocore.session

# The services the functions' own code and its libraries call.
SERVICES = ("s3", "sqs", "sns", "dynamodb", "cloudwatch")


def _warm_loader() -> botocore.loaders.Loader | None:
    try:
        session = botocore.session.get_session()
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


def share_loader() -> None:
    """Every botocore session this process opens from now on reads through the warm loader."""
    if LOADER is None:
        return

    def create_loader(search_path_string: str | None = None) -> botocore.loaders.Loader:
        # A custom AWS_DATA_PATH gets a loader of its own, as botocore would give it.
        return LOADER if not search_path_string else _create_loader(search_path_string)

    botocore.session.create_loader = create_loader
