"""A function for the worker tests: it says what its process is, and can print an EMF line or fail."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import botocore.session

from infra.local import preload


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    Path(event["report"]).write_text(json.dumps({"pid": os.getpid(), "environment": dict(os.environ),
                                                 "function": context.function_name, "nice": os.nice(0),
                                                 # the fork server's warm loader (infra/local/preload.py)
                                                 "shared_loader": botocore.session.Session().get_component("data_loader")
                                                 ._cache is preload.LOADER._cache}))
    if event.get("metric"):
        print(json.dumps({"_aws": {"Timestamp": 1767225600000, "CloudWatchMetrics": [
            {"Namespace": "Probe", "Dimensions": [["service"]], "Metrics": [{"Name": "Probed", "Unit": "Count"}]}]},
            "service": "probe", "Probed": 1}))
    print("a log line")
    if event.get("fail"):
        raise RuntimeError("the probe failed as asked")
    return {}
