"""Settings every handler reads from its environment (set by the template)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FIXTURES_ENV = "DISCLOSURES_FIXTURES"


@dataclass(frozen=True)
class Settings:
    bronze_bucket: str
    silver_bucket: str
    gold_bucket: str
    site_bucket: str
    events_topic_arn: str
    clerk_base_url: str

    @property
    def stage(self) -> str:
        return os.environ.get("STAGE", "dev")


@cache
def settings() -> Settings:
    env = os.environ
    return Settings(
        bronze_bucket=env["BRONZE_BUCKET"],
        silver_bucket=env["SILVER_BUCKET"],
        gold_bucket=env.get("GOLD_BUCKET", ""),
        site_bucket=env.get("SITE_BUCKET", ""),
        events_topic_arn=env["EVENTS_TOPIC_ARN"],
        clerk_base_url=env.get("CLERK_BASE_URL", "https://disclosures-clerk.house.gov"),
    )


def shared_fixtures() -> Path:
    """The shared Clerk fixtures (real filings, index, ground truth): beside the checkout unless
    DISCLOSURES_FIXTURES names another folder. Only tests, benchmarks, the parser evaluation and
    the local runtime read them; no handler does."""
    return Path(os.environ.get(FIXTURES_ENV) or PROJECT_ROOT.parent / "shared" / "fixtures")
