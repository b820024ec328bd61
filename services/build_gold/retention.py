"""Gold retention: which versions stay, and deleting the others' files.

Every build writes a new version (Gold files and a manifest under the version's prefix in the
gold bucket, the rebuilt years' silver year tables under version-named keys in the silver
bucket), so both buckets would grow every night forever. Kept, whatever else is decided:

- the live version (the pointer) and every key it references, even with both settings at 0;
- the `keep_versions` versions live before it: the pointer's `previous_version`, that version's
  manifest's, and so on. The pointer moves by compare-and-swap from the version a build read,
  so this chain is exactly the versions that were live, in order. A version whose manifest says
  `published` but is not in the chain lost the pointer to another build and was never live;
- rejected versions built less than `keep_rejected_days` days ago, for inspection (a version
  whose manifest cannot be read counts as rejected);
- versions newer than the live one, and versions built less than `BUILDING_GRACE` ago: a build
  still running (it writes its manifest last) or one about to lose the pointer.

Every other version loses its Gold files and its manifest (the manifests first: a version
whose deletion stopped half-way has no manifest and is deleted again by the next pass).

A silver year table may be referenced by many later manifests (a year not rebuilt is carried
forward from the live version's tables). One is deleted only when no kept manifest references
its key and the version that wrote it is older than the oldest kept version: a build writes its
silver tables before its manifest exists, and those must never go.

Version ids start with their build time in UTC (`build._version`: `YYYYMMDDTHHMMSSZ-<8 hex>`,
fixed width), so they sort by age as strings; ages are read from that prefix. A key whose
version id does not have that form is never deleted.

`plan` reads and decides (a dry run is a plan not applied); `apply` deletes in batches of
1,000 after checking the pointer again. Both are idempotent: a second pass finds nothing.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, ValidationError
from pydantic_core import PydanticUseDefault

from services.common import keys, objects
from services.common.config import FunctionSettings
from services.common.documents import read_pointer

DEFAULT_KEEP_VERSIONS = 5
DEFAULT_KEEP_REJECTED_DAYS = 30
# A build runs in one invocation of at most 900 s (the function's timeout); an hour is ample.
BUILDING_GRACE = timedelta(hours=1)
DELETE_BATCH = 1000  # the most DeleteObjects takes

_VERSION_ID = re.compile(r"^(?P<built>\d{8}T\d{6}Z)-[0-9a-f]{8}$")


def _now() -> datetime:
    return datetime.now(UTC)


class RetentionError(RuntimeError):
    """Deleting failed (S3 reported errors) or was refused (the pointer is gone)."""


def version_time(version: str) -> datetime | None:
    """When a version was built, from its id; None for an id not made by `build._version`."""
    match = _VERSION_ID.match(version)
    if not match:
        return None
    try:
        return datetime.strptime(match["built"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def served_versions(s3: Any, site_bucket: str) -> set[str]:
    """The versions the API may hold: api/meta.json's live one and the one it replaced."""
    meta = objects.get_bytes(s3, site_bucket, keys.SITE_META_KEY) if site_bucket else None
    try:
        body = json.loads(meta) if meta else {}
    except ValueError:
        body = {}
    return {v for v in (body.get("gold_version"), body.get("previous_gold_version")) if isinstance(v, str)}


# --- settings ---------------------------------------------------------------------------------


def _blank_is_unset(value: Any) -> Any:
    # A variable set to "" (a template parameter left empty) means the default, not an error.
    if isinstance(value, str) and not value.strip():
        raise PydanticUseDefault()
    return value


@dataclass(frozen=True)
class Policy:
    keep_versions: int = DEFAULT_KEEP_VERSIONS  # versions live before the live one
    keep_rejected_days: int = DEFAULT_KEEP_REJECTED_DAYS

    def __post_init__(self) -> None:
        for name in ("keep_versions", "keep_rejected_days"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a whole number >= 0, not {value!r}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Policy:
        """From GOLD_KEEP_VERSIONS and GOLD_KEEP_REJECTED_DAYS; unset (or blank) means the default.

        A value that is not a whole number >= 0 raises ValueError: nothing is deleted on a guess.
        """
        try:
            settings = RetentionSettings.from_env(env)
        except ValidationError as exc:
            error = exc.errors()[0]
            raise ValueError(f"{str(error['loc'][0]).upper()}={error['input']!r}: expected a whole number >= 0") from None
        return cls(keep_versions=settings.gold_keep_versions, keep_rejected_days=settings.gold_keep_rejected_days)


class RetentionSettings(FunctionSettings):
    """What retention reads from build_gold's environment."""

    gold_keep_versions: Annotated[int, BeforeValidator(_blank_is_unset)] = Field(DEFAULT_KEEP_VERSIONS, ge=0)
    gold_keep_rejected_days: Annotated[int, BeforeValidator(_blank_is_unset)] = Field(DEFAULT_KEEP_REJECTED_DAYS, ge=0)


# --- the plan ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionDecision:
    version: str
    keep: bool  # whether the version stays (its Gold files and manifest)
    reason: str
    status: str | None = None  # the manifest's status when it was read
    gold_keys: tuple[str, ...] = ()  # to delete, its manifest first
    silver_keys: tuple[str, ...] = ()  # its silver year tables to delete
    silver_kept: int = 0  # its silver year tables that stay

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "keep": self.keep,
            "reason": self.reason,
            "status": self.status,
            "gold_objects": len(self.gold_keys),
            "silver_objects": len(self.silver_keys),
            "silver_kept": self.silver_kept,
        }


@dataclass(frozen=True)
class Plan:
    gold_bucket: str
    silver_bucket: str
    policy: Policy
    live: str | None
    decisions: tuple[VersionDecision, ...] = ()  # newest first

    @property
    def gold_keys(self) -> list[str]:
        """Every Gold key to delete, the manifests first."""
        found = [k for d in self.decisions for k in d.gold_keys]
        return sorted(found, key=lambda k: (not _is_manifest(k), k))

    @property
    def silver_keys(self) -> list[str]:
        return sorted(k for d in self.decisions for k in d.silver_keys)

    @property
    def deleted_versions(self) -> list[str]:
        """Versions whose Gold files go."""
        return [d.version for d in self.decisions if d.gold_keys]

    @property
    def kept_versions(self) -> list[str]:
        return [d.version for d in self.decisions if d.keep]

    @property
    def empty(self) -> bool:
        return not (self.gold_keys or self.silver_keys)

    def to_dict(self) -> dict[str, Any]:
        return {
            "gold_bucket": self.gold_bucket,
            "silver_bucket": self.silver_bucket,
            "live": self.live,
            "keep_versions": self.policy.keep_versions,
            "keep_rejected_days": self.policy.keep_rejected_days,
            "kept_versions": self.kept_versions,
            "deleted_versions": self.deleted_versions,
            "gold_objects": len(self.gold_keys),
            "silver_objects": len(self.silver_keys),
            "versions": [d.to_dict() for d in self.decisions],
        }


@dataclass
class _Manifests:
    """Manifests read once each; None when missing or unreadable."""

    s3: Any
    bucket: str
    read: dict[str, dict[str, Any] | None] = field(default_factory=dict)

    def get(self, version: str) -> dict[str, Any] | None:
        if version not in self.read:
            data = objects.get_bytes(self.s3, self.bucket, keys.gold_manifest_key(version))
            try:
                body = json.loads(data) if data is not None else None
            except (UnicodeDecodeError, json.JSONDecodeError):
                body = None
            self.read[version] = body if isinstance(body, dict) else None
        return self.read[version]


def _by_version(
    s3: Any, bucket: str, prefix: str, version_of: Callable[[str], str | None]
) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for key in objects.list_keys(s3, bucket, prefix):
        version = version_of(key)
        if version is not None:
            grouped[version].append(key)
    return grouped


def references(manifest: Mapping[str, Any]) -> set[str]:
    """Every key a manifest (or the pointer, a copy of one) names: silver tables, Gold files, itself."""
    found: set[str] = set()
    for by_year in (manifest.get("silver_tables") or {}).values():
        found.update((by_year or {}).values())
    for table_keys in (manifest.get("tables") or {}).values():
        found.update(table_keys or [])
    if manifest.get("version"):
        found.add(keys.gold_manifest_key(manifest["version"]))
    return found


def _chain(live: Mapping[str, Any], manifests: _Manifests, gold: Mapping[str, Any]) -> list[str]:
    """The versions that were live before this one, newest first, as far as manifests remain.

    A link whose files are gone was deleted by an earlier pass, and older ones went before it. A
    link whose files remain but whose manifest cannot be read breaks the chain: every version
    behind it would look never live, so nothing is decided on it (RetentionError)."""
    chain: list[str] = []
    seen = {live.get("version")}
    previous = live.get("previous_version")
    while previous and previous not in seen:
        body = manifests.get(previous)
        if body is None:
            if previous in gold:
                raise RetentionError(f"the chain of live versions is broken at {previous} (its manifest is "
                                     "missing or unreadable): nothing deleted")
            break
        chain.append(previous)
        seen.add(previous)
        previous = body.get("previous_version")
    return chain


def plan(
    s3: Any,
    *,
    gold_bucket: str,
    silver_bucket: str,
    policy: Policy | None = None,
    now: datetime | None = None,
    served: Iterable[str] = (),
) -> Plan:
    """Decide what stays and what goes; deletes nothing."""
    policy = policy or Policy()
    now = now or _now()
    pointer = read_pointer(s3, gold_bucket)
    if pointer is None or version_time(pointer.version) is None:
        # Before any version is live there is nothing to order versions against: keep everything.
        return Plan(gold_bucket, silver_bucket, policy, pointer.version if pointer else None)
    live = pointer.version

    gold = _by_version(s3, gold_bucket, keys.GOLD_VERSIONS_PREFIX, keys.gold_key_version)
    silver = _by_version(s3, silver_bucket, keys.SILVER_TABLES_PREFIX, keys.silver_table_version)
    # Retention reads the other manifests as plain JSON (one it cannot read or parse is kept, not
    # guessed at); the pointer's is the same document.
    live_manifest = pointer.manifest.to_json()
    manifests = _Manifests(s3, gold_bucket, {live: live_manifest})
    chain = _chain(live_manifest, manifests, gold)
    in_chain = set(chain)

    kept: dict[str, str] = {live: "live"}
    for version in served:  # what the API holds may lag the pointer when publishing failed
        if version and version != live and version_time(version) is not None:
            kept[version] = "served by the API (api/meta.json)"
    for position, version in enumerate(chain[: policy.keep_versions], start=1):
        kept[version] = f"previously live ({position} of {policy.keep_versions} kept)"
    dropped: dict[str, tuple[str, str | None]] = {}  # version -> (reason, status)
    untouched: dict[str, str] = {}  # versions never deleted: ids not made by a build
    statuses: dict[str, str | None] = {}
    for version in sorted(set(gold) | set(silver), reverse=True):
        if version in kept:
            continue
        built = version_time(version)
        if built is None:
            untouched[version] = "not a build's version id: never deleted"
        elif version > live:
            kept[version] = "newer than the live version (building, or never live)"
        elif now - built < BUILDING_GRACE:
            kept[version] = (
                f"built less than {BUILDING_GRACE.seconds // 60} minutes ago (may still be building)"
            )
        elif version not in gold:
            continue  # silver tables only: decided per key below
        elif keys.gold_manifest_key(version) not in gold[version]:
            dropped[version] = ("incomplete build (no manifest)", None)
        else:
            body = manifests.get(version)
            status = statuses[version] = body.get("status") if body else None
            days = (now - built).days
            if body is None or status != "published":
                label = "rejected" if body is not None else "manifest unreadable"
                if now - built < timedelta(days=policy.keep_rejected_days):
                    kept[version] = f"{label}, built {days} days ago (kept {policy.keep_rejected_days} days)"
                else:
                    dropped[version] = (f"{label}, built {days} days ago", status)
            elif version in in_chain:
                dropped[version] = (
                    f"previously live, beyond the {policy.keep_versions} kept",
                    status,
                )
            else:
                dropped[version] = (
                    "published but never live (another build moved the pointer first)",
                    status,
                )

    protected = references(live_manifest)
    for version in kept:
        body = manifests.get(version) if keys.gold_manifest_key(version) in gold.get(version, ()) else None
        protected |= references(body or {})
    oldest_kept = min(v for v in kept if version_time(v) is not None)  # the live one at least

    decisions: list[VersionDecision] = []
    for version in sorted(set(gold) | set(silver), reverse=True):
        tables = sorted(silver.get(version, []))
        if version in kept or version in untouched:
            reason = kept.get(version) or untouched[version]
            body = manifests.read.get(version)
            status = statuses.get(version) or (body.get("status") if body else None)
            decisions.append(VersionDecision(version, True, reason, status, silver_kept=len(tables)))
            continue
        goes = [k for k in tables if version < oldest_kept and k not in protected]
        if version in dropped:
            reason, status = dropped[version]
            doomed = tuple(k for k in gold[version] if k not in protected)
        else:
            reason, status, doomed = "no Gold files (deleted earlier, or a build that stopped)", None, ()
        decisions.append(
            VersionDecision(
                version, False, reason, status, gold_keys=tuple(sorted(doomed)), silver_keys=tuple(goes),
                silver_kept=len(tables) - len(goes),
            )
        )  # fmt: skip
    return Plan(gold_bucket, silver_bucket, policy, live, tuple(decisions))


# --- applying it ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Applied:
    gold_objects: int
    silver_objects: int


def _is_manifest(key: str) -> bool:
    version = keys.gold_key_version(key)
    return version is not None and key == keys.gold_manifest_key(version)


def _delete(s3: Any, bucket: str, doomed: list[str]) -> None:
    """Delete in batches, stopping at the first batch with errors. Manifests go in requests of
    their own before any table, so a failure never leaves a manifest naming deleted files."""
    manifests = [k for k in doomed if _is_manifest(k)]
    others = [k for k in doomed if not _is_manifest(k)]
    for group in (manifests, others):
        for start in range(0, len(group), DELETE_BATCH):
            batch = group[start : start + DELETE_BATCH]
            errors = s3.delete_objects(
                Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
            ).get("Errors", [])
            if errors:
                first = "; ".join(
                    f"{e.get('Key')}: {e.get('Code')} {e.get('Message', '')}".strip() for e in errors[:5]
                )
                raise RetentionError(f"{len(errors)} of {len(batch)} deletes failed in s3://{bucket}: {first}")


def apply(s3: Any, planned: Plan) -> Applied:
    """Delete what the plan says, never a key the pointer references now (it may have moved)."""
    if planned.empty:
        return Applied(0, 0)
    pointer = read_pointer(s3, planned.gold_bucket)
    if pointer is None:
        raise RetentionError("the Gold pointer is gone: nothing deleted")
    protected = references(pointer.manifest.to_json())
    live_prefix = keys.gold_version_prefix(pointer.version)
    gold = [k for k in planned.gold_keys if k not in protected and not k.startswith(live_prefix)]
    silver = [k for k in planned.silver_keys if k not in protected]
    _delete(s3, planned.gold_bucket, gold)
    _delete(s3, planned.silver_bucket, silver)
    return Applied(len(gold), len(silver))


@dataclass(frozen=True)
class Pruned:
    plan: Plan
    applied: Applied | None  # None for a dry run

    def summary(self) -> dict[str, Any]:
        return {
            "live": self.plan.live,
            "dry_run": self.applied is None,
            "kept_versions": self.plan.kept_versions,
            "deleted_versions": self.plan.deleted_versions,
            "gold_objects": len(self.plan.gold_keys) if self.applied is None else self.applied.gold_objects,
            "silver_objects": len(self.plan.silver_keys)
            if self.applied is None
            else self.applied.silver_objects,
        }


def prune(s3: Any, *, dry_run: bool = False, **options: Any) -> Pruned:
    """`plan` (same keyword options), then `apply` unless it is a dry run."""
    planned = plan(s3, **options)
    return Pruned(planned, None if dry_run else apply(s3, planned))
