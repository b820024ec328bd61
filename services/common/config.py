"""Settings: what a function reads from its environment (set by the template).

`settings()` is the part every pipeline function shares (buckets, topic, source). Each Lambda
function also has one settings model of its own, `SETTINGS` in its handler module (a
`FunctionSettings`): the variables it reads, typed, with their defaults. A field reads the
variable of its name in capitals (`fetch_delay_ms`: FETCH_DELAY_MS), and a test checks each
function's model against the template's `Environment` for it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FIXTURES_ENV = "DISCLOSURES_FIXTURES"


class FunctionSettings(BaseModel):
    """Settings read from a function's environment: a field reads the variable of its name in
    capitals. Read whenever asked for (a handful of variables: cheaper than a cache that a
    changed environment would leave stale); `settings()` is the one cached read."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Self:
        env = os.environ if env is None else env
        return cls.model_validate({name: env[name.upper()] for name in cls.model_fields if name.upper() in env})

    @classmethod
    def variables(cls) -> dict[str, bool]:
        """Every variable the model reads, and whether the function needs it set."""
        return {name.upper(): field.is_required() for name, field in cls.model_fields.items()}


class PipelineSettings(FunctionSettings):
    """What every function of the pipeline shares (the template's `Globals`). The table names
    are read where the pynamodb models and the idempotency store are set up (`tables.py`,
    `idempotency.py`), Powertools' variables by Powertools."""

    bronze_bucket: str
    silver_bucket: str
    gold_bucket: str = ""
    site_bucket: str = ""
    events_topic_arn: str
    clerk_base_url: str = "https://disclosures-clerk.house.gov"


@cache
def settings() -> PipelineSettings:
    """The shared settings, read once per process (the runtime and tests clear it when they
    point the process at another stack)."""
    return PipelineSettings.from_env()


def shared_fixtures() -> Path:
    """The shared Clerk fixtures (real filings, index, ground truth): beside the checkout unless
    DISCLOSURES_FIXTURES names another folder. Only tests, benchmarks, the parser evaluation and
    the local runtime read them; no handler does."""
    return Path(os.environ.get(FIXTURES_ENV) or PROJECT_ROOT.parent / "shared" / "fixtures")
