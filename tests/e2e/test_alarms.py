"""Alarms on the local stack: a failing run and a poison document raise alerts on the alerts topic,
and after the fix a DLQ replay completes the run with nothing lost."""

from __future__ import annotations

import pytest

from events.models import Envelope, RunRequested, new_run_id
from infra.faults.suite import wait_for

pytestmark = pytest.mark.e2e

POISON = "20026590"
GOOD = "20027933"
TRACE = "Root=1-67891233-abcdef012345678912345678;Sampled=1"


def _fired(stack) -> list[str]:
    return [a["alarm"] for a in stack.alerts()]


def _why_no_alert(stack) -> str:
    """What a missing alert may come from: the alarms' states, the evaluator's and the metric
    delivery's last errors, the functions' counts."""
    states = {name: (s.state, s.reason[:200]) for name, s in stack.alarms.states.items()}
    return (f"no alerts; fired: {_fired(stack)}\nalarms: {states}\nevaluator's last error: {stack.alarms.last_error}\n"
            f"{stack.worker_status()}\nfunctions: {stack.diagnostics()}")


def test_poison_document_raises_alarms_and_replay_completes_the_run(make_stack, mirror_dir):
    from services.common import bus

    # The local clock at three times its usual speed: the failing fetch is dead-lettered after
    # three visibility timeouts of 5 s, not 12, and the alarms' periods shrink alike.
    stack = make_stack(mirror_dir, env={"RUN_IDLE_LIMIT_S": "3"}, time_scale=180)
    stack.mirror.faults[f"/public_disc/ptr-pdfs/2025/{POISON}.pdf"] = 503  # the Clerk is failing for one file
    run_id = new_run_id()
    request = RunRequested(years=[2025], source_url=stack.source_url, doc_ids=[POISON, GOOD], trigger="test")
    bus.publish_one(Envelope.build(request, run_id=run_id, source="cli", trace=TRACE))

    failed = stack.wait_for_run(run_id, timeout_s=60)
    assert failed["status"] == "failed" and "fetch-dlq=1" in failed["failure_reason"]

    # The run-failed and dead-letters alarms fire, and their notifications arrive on the alerts topic.
    prefix = stack.options.stack_name
    assert wait_for(lambda: {f"{prefix}-run-failed", f"{prefix}-dead-letters"} <= set(_fired(stack)), 90), \
        _why_no_alert(stack)
    alerts = stack.alerts()
    run_failed = next(a for a in alerts if a["alarm"] == f"{prefix}-run-failed")
    assert run_failed["state"] == "ALARM" and run_failed["previous"] in ("OK", "INSUFFICIENT_DATA")
    assert run_failed["message"]["Trigger"]["MetricName"] == "RunsFailed"
    assert run_failed["message"]["AlarmActions"] == [stack.provisioned.alerts_topic_arn]
    assert run_failed["subject"].startswith(f'ALARM: "{prefix}-run-failed"')
    # Reading the inbox does not consume it; an alarm notifies once per change into ALARM.
    assert _fired(stack).count(f"{prefix}-run-failed") == 1
    states = {a["AlarmName"]: a["StateValue"] for a in stack.client("cloudwatch").describe_alarms(
        AlarmNamePrefix=f"{prefix}-run-failed")["MetricAlarms"]}
    assert set(states.values()) <= {"ALARM", "OK"}

    # The trace of the run travels with the document: in the bronze object's metadata.
    s3 = stack.client("s3")
    bronze = stack.provisioned.environment["BRONZE_BUCKET"]
    good_key = next(o["Key"] for o in s3.list_objects_v2(Bucket=bronze, Prefix="house-fd/pdf/")["Contents"]
                    if f"doc_id={GOOD}" in o["Key"])
    assert s3.head_object(Bucket=bronze, Key=good_key)["Metadata"]["trace"] == TRACE

    # The fix, then the replay: the run completes and nothing is lost.
    stack.mirror.faults.clear()
    assert stack.replay_dlqs()["disclosures-local-fetch-dlq"] == 1
    run = stack.wait_for_run(run_id, timeout_s=60, statuses=("succeeded",))
    assert run["counts"]["fetch_stored"] == 2 and run["docs_settled"] == 2 == run["docs_expected"]
    assert all(i.depth == 0 for i in stack.dlq_info())
    # With the DLQs empty again the dead-letters alarm goes back to OK.
    assert wait_for(lambda: stack.alarms.states[f"{prefix}-dead-letters"].state == "OK", 30), "dead-letters not OK"
    assert not stack.alarms.last_error, stack.alarms.last_error

