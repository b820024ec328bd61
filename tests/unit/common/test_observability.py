"""A service's metrics take their namespace from the environment when they are written."""

from __future__ import annotations


def test_metrics_made_before_the_environment_still_publish_in_its_namespace(monkeypatch):
    from services.common.observability import ServiceMetrics

    monkeypatch.delenv("POWERTOOLS_METRICS_NAMESPACE", raising=False)
    metrics = ServiceMetrics(service="watchdog")  # as a module imported by a test collection
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "CongressDisclosures")
    metrics.add_metric(name="DeadLetters", unit="Count", value=1)
    document = metrics.serialize_metric_set()
    assert document["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "CongressDisclosures"


def test_a_namespace_given_in_code_wins(monkeypatch):
    from services.common.observability import ServiceMetrics

    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "FromEnvironment")
    metrics = ServiceMetrics(service="s", namespace="Given")
    metrics.add_metric(name="X", unit="Count", value=1)
    assert metrics.serialize_metric_set()["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Given"
