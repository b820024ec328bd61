"""moto in server mode, answering one request at a time, with a lighter DynamoDB transaction.

moto's SQS mutates a queue's message list without a lock, so concurrent requests (a delete
beside a delivery from SNS) can lose a message. Serialising requests costs little: moto runs
under one interpreter lock anyway. Pollers therefore poll without long-polling.

moto's TransactWriteItems deep-copies every table it touches to roll back on failure: with the
ledger's one transaction per event that is quadratic, and a full-year load ran the emulator out
of memory. Here only the items a transaction names are saved and restored.
"""

from __future__ import annotations

import argparse
import os
import threading
from collections.abc import Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


class Serialized:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict, start_response: Any) -> Iterable[bytes]:
        with self.lock:
            # Drain the body inside the lock: moto may build it lazily.
            return list(self.app(environ, start_response))


def _item_key(table: Any, attrs: dict[str, Any]) -> tuple[Any, Any]:
    from moto.dynamodb.models.dynamo_type import DynamoType

    hash_value = DynamoType(attrs[table.hash_key_attr])
    range_value = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
    return hash_value, range_value


def _light_transactions() -> None:
    import copy

    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    class _NoTableCopy:
        """moto's `copy` for that module: tables are not copied (their items are saved below)."""

        def __getattr__(self, name: str) -> Any:
            return getattr(copy, name)

        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    models.copy = _NoTableCopy()
    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved = []
        for entry in transact_items:
            _, op = next(iter(entry.items()))
            table = self.tables.get(op.get("TableName"))
            attrs = op.get("Key") or op.get("Item")
            if table is None or not attrs:
                continue
            hash_value, range_value = _item_key(table, attrs)
            current = table.items.get(hash_value)
            current = current.get(range_value) if range_value is not None and current is not None else current
            saved.append((table, hash_value, range_value, copy.deepcopy(current)))
        try:
            original(self, transact_items)
        except Exception:
            for table, hash_value, range_value, item in reversed(saved):
                if range_value is None:
                    if item is None:
                        table.items.pop(hash_value, None)
                    else:
                        table.items[hash_value] = item
                elif item is None:
                    table.items.get(hash_value, {}).pop(range_value, None)
                else:
                    table.items[hash_value][range_value] = item
            raise

    models.DynamoDBBackend.transact_write_items = transact_write_items


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    _light_transactions()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, Serialized(app), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
