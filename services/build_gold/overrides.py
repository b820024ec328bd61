"""Operator overrides of failing quality checks, each with a recorded reason.

An override stays until it is cleared, and every build that used it records it in its
quality report, so an emergency publish is never silent.
"""

from __future__ import annotations

from services.build_gold.quality import CHECK_NAMES
from services.common.tables import QualityOverride
from services.common.watermarks import now

_PK, _SK_PREFIX = QualityOverride.KIND.key(check="")


def active() -> dict[str, str]:
    return {item.sk.removeprefix(_SK_PREFIX): item.reason or "" for item in QualityOverride.query(_PK, consistent_read=True)}


def set_override(check: str, reason: str, who: str) -> None:
    if check not in CHECK_NAMES:
        raise ValueError(f"no quality check is called {check!r}; the checks are: {', '.join(CHECK_NAMES)}")
    if not reason.strip():
        raise ValueError("an override needs a reason")
    QualityOverride(*QualityOverride.KIND.key(check=check), reason=f"{reason} (by {who} at {now()})", updated_at=now()).save()


def clear(check: str) -> None:
    QualityOverride.at(check=check).delete()
