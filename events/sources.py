"""What AWS services put on the pipeline's queues besides the pipeline's own events.

Only the fields the stages read are declared; the rest of a notification is ignored, as AWS adds
fields over time (and the local emulator sends fewer of them).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class S3Bucket(BaseModel):
    name: str


class S3Object(BaseModel):
    key: str = ""  # URL-encoded, as S3 sends it


class S3Entity(BaseModel):
    bucket: S3Bucket
    object: S3Object


class S3NotificationRecord(BaseModel):
    eventName: str | None = None
    s3: S3Entity


class S3Notification(BaseModel):
    """An S3 event notification sent straight to an SQS queue (bronze ObjectCreated -> q-extract)."""

    Records: list[S3NotificationRecord]


class S3TestEvent(BaseModel):
    """What S3 sends once when a bucket's notification to a queue is configured."""

    Event: Literal["s3:TestEvent"]


class ScheduleTick(BaseModel):
    """The nightly rule's constant input (EventBridge -> q-runs: `Input` in the template)."""

    model_config = ConfigDict(extra="forbid")

    trigger: Literal["schedule"]
