"""verify's AWS-only checks (functions behind `live`, event sources on the alias) against moto:
the template provisioned into the session's moto server, functions and aliases created in it.
The website check against a local HTTP server standing in for CloudFront."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from infra.deploy import verify as v
from infra.deploy.rollback import template_function_names
from infra.local.provision import provision
from infra.local.template import Stack, load
from tests.unit.deploy.helpers import publish_release

pytestmark = pytest.mark.integration
NAME = "congress-disclosures-dev"


@pytest.fixture
def deployed(emulator):
    emulator.reset()
    stack = Stack(load(), name=NAME, endpoint=emulator.endpoint, parameters={"Stage": "dev"})
    provisioned = provision(stack, emulator)
    verifier = v.Verifier(v.DeployedStack(load(), name=NAME, parameters={"Stage": "dev"}), emulator.client, mode="aws")
    return stack, provisioned, verifier, emulator


def _map_event_sources(emulator, stack, provisioned):
    lam, sqs = emulator.client("lambda"), emulator.client("sqs")
    for source in provisioned.queue_sources:
        arn = sqs.get_queue_attributes(QueueUrl=source.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        alias = lam.get_alias(FunctionName=source.function, Name="live")["AliasArn"]
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=alias, BatchSize=source.batch_size)


def test_a_wired_stack_passes_every_resource_check(deployed):
    stack, provisioned, verifier, emulator = deployed
    missing = verifier.check_functions()
    assert not missing.ok and "ResourceNotFoundException" in missing.detail

    publish_release(emulator.client("lambda"), emulator.client("iam"), template_function_names(stack), releases=1)
    unmapped = verifier.check_functions()
    assert not unmapped.ok and "does not consume" in unmapped.detail

    _map_event_sources(emulator, stack, provisioned)
    checks = {c.name: c for c in verifier.run(smoke=False)}
    # No API Gateway nor CloudFront in moto: no ApiUrl, no WebsiteUrl.
    assert [n for n, c in checks.items() if not c.ok] == ["api", "website"], checks
    assert "stack output WebsiteUrl" in checks["website"].detail
    assert "event sources mapped to the alias" in checks["functions"].detail
    assert "NightlyRule=DISABLED" in checks["rules"].detail
    assert checks["alarms"].ok and "LiveErrors" not in checks["alarms"].detail


def test_broken_wiring_is_reported(deployed):
    stack, provisioned, verifier, emulator = deployed
    sns, sqs, s3 = emulator.client("sns"), emulator.client("sqs"), emulator.client("s3")
    topic = stack.arn("PipelineEventsTopic")
    gold = next(s for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] if s["Endpoint"].endswith("-gold"))
    sns.unsubscribe(SubscriptionArn=gold["SubscriptionArn"])
    sqs.delete_queue(QueueUrl=provisioned.queues["PublishDLQ"])
    s3.put_bucket_notification_configuration(Bucket=stack.physical_name("BronzeBucket"), NotificationConfiguration={})
    emulator.client("cloudwatch").delete_alarms(AlarmNames=[f"{NAME}-fetch-live-errors"])
    emulator.client("events").remove_targets(Rule=stack.physical_name("NightlyRule"), Ids=["runs-queue"])

    assert "-gold is not subscribed" in verifier.check_subscriptions().detail
    assert "-publish-dlq missing" in verifier.check_queues().detail
    assert "does not notify" in verifier.check_buckets().detail
    assert f"{NAME}-fetch-live-errors" in verifier.check_alarms().detail
    assert "does not target" in verifier.check_rules().detail
    assert verifier.check_tables().ok
    emulator.client("dynamodb").update_table(TableName=f"{NAME}-ledger", GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "runs"}}])
    assert f"{NAME}-ledger index runs is missing" in verifier.check_tables().detail
    emulator.client("dynamodb").delete_table(TableName=f"{NAME}-ledger")
    assert f"{NAME}-ledger missing" in verifier.check_tables().detail


def test_deployed_names_use_the_real_account_and_region():
    stack = v.DeployedStack(load(), name="s", account="111122223333", region="eu-west-1")
    assert stack.physical_name("BronzeBucket") == "s-bronze-111122223333"
    assert stack.arn("RunsQueue") == "arn:aws:sqs:eu-west-1:111122223333:s-runs"


# ---------------------------------------------------------------- the website (CDN) check
PAGE = b"<!doctype html><title>House trades</title><p>Use restriction (5 U.S.C. 13107): ...</p>"
HEALTH = json.dumps({"status": "ok", "stale": False}).encode()
S3_DENIED = b"<?xml version='1.0'?><Error><Code>AccessDenied</Code></Error>"


class _FakeCdn(BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, str, bytes]] = {}

    def log_message(self, *args):  # noqa: ANN002 - quiet
        pass

    def do_GET(self):  # noqa: N802
        status, kind, body = self.routes.get(self.path, (404, "application/xml", b"<Error><Code>NoSuchKey</Code></Error>"))
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def cdn():
    """A stand-in for the distribution: `routes` maps a path to (status, content type, body)."""
    routes = {"/": (200, "text/html; charset=utf-8", PAGE), "/v1/health": (200, "application/json", HEALTH)}
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Cdn", (_FakeCdn,), {"routes": routes}))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", routes
    server.shutdown()
    server.server_close()


def _web_verifier(mode: str = "aws", **urls) -> v.Verifier:
    return v.Verifier(v.DeployedStack(load(), name=NAME), lambda _service: None, mode=mode, **urls)


def test_the_website_check_passes_when_the_cdn_serves_the_pages_and_the_api(cdn):
    url, _routes = cdn
    check = _web_verifier(website_url=url + "/", api_url="https://api.example").check_website()
    assert check.ok, check.detail
    assert "13107 notice" in check.detail and "/v1/health answers through it (ok)" in check.detail


def test_locally_the_http_server_plays_the_cdn(cdn):
    url, _routes = cdn
    assert _web_verifier("local", api_url=url).check_website().ok
    # On AWS the API's URL is not the website: without the WebsiteUrl output the check fails.
    missing = _web_verifier("aws", api_url=url).check_website()
    assert not missing.ok and missing.detail == "no website URL (stack output WebsiteUrl)"


@pytest.mark.parametrize(("route", "answer", "expected"), [
    ("/", (404, "application/xml", b"<Error><Code>NoSuchKey</Code></Error>"), "GET {url}/ answered 404"),
    ("/", (403, "application/xml", S3_DENIED), "GET {url}/ answered 403"),
    ("/", (200, "text/html", b"<!doctype html><p>a page without the notice</p>"), "no 5 U.S.C. 13107 notice"),
    ("/", (200, "application/json", b'{"note": "13107"}'), "is not the website"),
    # /v1 served from the bucket instead of the API: S3's answer, not the API's JSON.
    ("/v1/health", (403, "application/xml", S3_DENIED), "GET {url}/v1/health does not reach the API: 403"),
    ("/v1/health", (200, "text/html", PAGE), "does not reach the API: 200 text/html"),
    ("/v1/health", (200, "application/json", b"not json"), "does not reach the API"),
    ("/v1/health", (200, "application/json", b'{"message": "Not Found"}'), "does not reach the API"),
])
def test_a_broken_website_fails_with_a_clear_detail(cdn, route, answer, expected):
    url, routes = cdn
    routes[route] = answer
    check = _web_verifier(website_url=url).check_website()
    assert not check.ok
    assert expected.format(url=url) in check.detail, check.detail


def test_an_unreachable_website_fails():
    check = _web_verifier(website_url="http://127.0.0.1:9").check_website()
    assert not check.ok and check.detail.startswith("http://127.0.0.1:9: ")
