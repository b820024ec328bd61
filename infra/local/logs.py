"""What CloudWatch Logs does with a function's output: lines in the Embedded Metric Format become
metrics (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html);
every other line is a log line, passed on to this process's output (the stack log)."""

from __future__ import annotations

import io
import json
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

_capture = threading.local()
PUT_LIMIT = 1000  # PutMetricData: datums per request


class _ThreadOutput(io.TextIOBase):
    """sys.stdout for a process whose threads run functions: what a function's invocation prints
    goes to that invocation's buffer, the rest to the real stream."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        buffer = getattr(_capture, "buffer", None)
        return buffer.write(text) if buffer is not None else self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()


def install() -> None:
    if not isinstance(sys.stdout, _ThreadOutput):
        sys.stdout = _ThreadOutput(sys.stdout)


def uninstall() -> None:
    if isinstance(sys.stdout, _ThreadOutput):
        sys.stdout = sys.stdout.stream


@contextmanager
def captured() -> Iterator[list[str]]:
    """The lines printed on this thread inside the block (filled when it ends)."""
    lines: list[str] = []
    buffer = io.StringIO()
    _capture.buffer = buffer
    try:
        yield lines
    finally:
        _capture.buffer = None
        lines += buffer.getvalue().splitlines()


def emf_datums(line: str) -> list[tuple[str, dict[str, Any]]]:
    """(namespace, PutMetricData datum) for each metric an EMF line declares; [] for a log line."""
    try:
        document = json.loads(line)
    except ValueError:
        return []
    meta = document.get("_aws") if isinstance(document, dict) else None
    if not isinstance(meta, dict):
        return []
    stamp = datetime.fromtimestamp(int(meta.get("Timestamp", 0)) / 1000, UTC) if meta.get("Timestamp") else datetime.now(UTC)
    out = []
    for directive in meta.get("CloudWatchMetrics", []):
        for dimension_set in directive.get("Dimensions", []) or [[]]:
            dimensions = [{"Name": name, "Value": str(document[name])} for name in dimension_set if name in document]
            for metric in directive.get("Metrics", []):
                values = document.get(metric["Name"])
                for value in values if isinstance(values, list) else [values]:
                    if isinstance(value, int | float):
                        out.append((directive["Namespace"], {
                            "MetricName": metric["Name"], "Dimensions": dimensions, "Value": float(value),
                            "Unit": metric.get("Unit", "None"), "Timestamp": stamp}))
    return out


def deliver(lines: list[str], cloudwatch: Any) -> int:
    """Put the EMF lines' metrics to CloudWatch and pass the other lines on; returns the datums put."""
    by_namespace: dict[str, list[dict[str, Any]]] = {}
    output = sys.stdout.stream if isinstance(sys.stdout, _ThreadOutput) else sys.stdout
    for line in lines:
        datums = emf_datums(line)
        if not datums:
            output.write(line + "\n")
        for namespace, datum in datums:
            by_namespace.setdefault(namespace, []).append(datum)
    for namespace, data in by_namespace.items():
        for start in range(0, len(data), PUT_LIMIT):
            cloudwatch.put_metric_data(Namespace=namespace, MetricData=data[start:start + PUT_LIMIT])
    return sum(len(d) for d in by_namespace.values())
