"""`disclosures verify` on the local stack: resources exist and are wired, a smoke run completes,
the API answers with the data that run published, the website is served with the API beside it."""

from __future__ import annotations

import time

import pytest
from typer.testing import CliRunner

from infra.cli.deploy_cmd import sources_of
from infra.cli.main import app
from infra.deploy.verify import Verifier, all_passed
from infra.local.http_api import EDGE_TTL_S
from infra.local.template import Stack, load

pytestmark = pytest.mark.e2e


def _verifier(stack) -> Verifier:
    from services.api.app import store

    store.reset()  # the API process caches Gold for seconds: forget an earlier test's stack
    return Verifier(Stack(load(), name=stack.options.stack_name), stack.client, mode="local", api_url=stack.http.url,
                    source_url=stack.source_url, local_sources=sources_of(stack.provisioned.queue_sources))


def test_verify_passes_after_a_smoke_run_and_the_api_serves_its_data(make_stack, mirror_dir):
    stack = make_stack(mirror_dir, http_port=0)
    checks = _verifier(stack).run(smoke=True, years=[2025], timeout_s=240)
    assert all_passed(checks), [c.line() for c in checks if not c.ok]
    by_name = {c.name: c for c in checks}
    assert list(by_name) == ["tables", "buckets", "queues", "subscriptions", "rules", "functions", "alarms",
                             "smoke run", "api", "website"]
    assert "succeeded" in by_name["smoke run"].detail
    # Locally the HTTP server plays CloudFront: the pages from the site bucket, /v1 to the API.
    assert "13107 notice" in by_name["website"].detail and "(ok)" in by_name["website"].detail
    run_id = by_name["smoke run"].detail.split()[1]
    gold_version = stack.run_item(run_id)["gold_version"]
    assert gold_version and f"fresh: gold {gold_version}" in by_name["api"].detail

    # The CLI runs the same checks (here without a second smoke run) and exits 0.
    result = CliRunner().invoke(app, ["verify", "--stage", "local", "--endpoint", stack.emulator.endpoint,
                                      "--stack-name", stack.options.stack_name, "--api-url", stack.http.url, "--no-smoke"])
    assert result.exit_code == 0, result.output
    assert "all checks passed (9/9)" in result.stdout


def test_verify_fails_before_any_data_and_on_broken_wiring(make_stack, mirror_dir):
    stack = make_stack(mirror_dir, http_port=0, pollers=False)
    verifier = _verifier(stack)
    api = verifier.check_api()
    assert not api.ok  # nothing published yet: the API has no fresh data
    website = verifier.check_website()  # the pages are there before any data; /v1 reaches the API
    assert website.ok and "(missing)" in website.detail, website.detail
    site_bucket = stack.provisioned.environment["SITE_BUCKET"]
    index = stack.client("s3").get_object(Bucket=site_bucket, Key="index.html")
    stack.client("s3").delete_object(Bucket=site_bucket, Key="index.html")
    time.sleep(EDGE_TTL_S)  # the local edge, like CloudFront's, serves its copy until it expires
    assert verifier.check_website().detail == f"GET {stack.http.url}/ answered 404"
    stack.client("s3").put_object(Bucket=site_bucket, Key="index.html", Body=index["Body"].read(),
                                  ContentType=index["ContentType"])
    sns = stack.client("sns")
    topic = Stack(load(), name=stack.options.stack_name).arn("PipelineEventsTopic")
    fetch = next(s for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] if s["Endpoint"].endswith("-fetch"))
    sns.unsubscribe(SubscriptionArn=fetch["SubscriptionArn"])
    result = CliRunner().invoke(app, ["verify", "--stage", "local", "--endpoint", stack.emulator.endpoint,
                                      "--stack-name", stack.options.stack_name, "--api-url", stack.http.url, "--no-smoke"])
    assert result.exit_code == 1
    assert "-fetch is not subscribed" in result.output and "verification failed" in result.stdout
