"""The local stand-in for CloudWatch Logs: a function's EMF output becomes metrics, its other
lines stay log lines, and one thread's output never lands in another's invocation."""

from __future__ import annotations

import threading

from moto import mock_aws

from infra.local import logs


def test_powertools_emf_output_becomes_the_metrics_cloudwatch_would_make(monkeypatch, capsys):
    import boto3

    from services.common.observability import tools

    for name, value in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t",
                        "POWERTOOLS_METRICS_NAMESPACE": "CongressDisclosures"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    _, _, metrics = tools("ledger")
    metrics.add_metric(name="RunsFailed", unit="Count", value=1)
    metrics.add_metric(name="RunsFailed", unit="Count", value=2)
    metrics.flush_metrics()
    lines = capsys.readouterr().out.splitlines() + ['{"level": "INFO", "message": "a log line"}', "not json"]
    with mock_aws():
        cloudwatch = boto3.client("cloudwatch")
        assert logs.deliver(lines, cloudwatch) == 2
        listed = cloudwatch.list_metrics(Namespace="CongressDisclosures")["Metrics"]
        assert [(m["MetricName"], m["Dimensions"]) for m in listed] == [("RunsFailed", [{"Name": "service", "Value": "ledger"}])]
        stats = cloudwatch.get_metric_statistics(
            Namespace="CongressDisclosures", MetricName="RunsFailed", Dimensions=[{"Name": "service", "Value": "ledger"}],
            StartTime="2000-01-01", EndTime="2100-01-01", Period=60, Statistics=["Sum"])["Datapoints"]
        assert sum(d["Sum"] for d in stats) == 3
    assert "a log line" in capsys.readouterr().out  # log lines pass through


def test_a_log_line_is_no_metric():
    assert logs.emf_datums('{"_aws": "not a directive"}') == [] and logs.emf_datums("plain text") == []


def test_each_thread_captures_only_its_own_output():
    logs.install()
    try:
        seen: dict[str, list[str]] = {}

        def work(name: str) -> None:
            with logs.captured() as lines:
                for _ in range(50):
                    print(name)
            seen[name] = lines

        threads = [threading.Thread(target=work, args=(n,)) for n in ("a", "b")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert seen == {"a": ["a"] * 50, "b": ["b"] * 50}
    finally:
        logs.uninstall()
