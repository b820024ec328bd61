"""Trade alerts: each publish announces the trades new in its Gold version on the trade-alerts topic.

One SNS message per new trade, readable as an email, with message attributes a subscriber filters
on with an SNS filter policy (`{"ticker": ["NVDA"]}`, `{"member": ["P000197"]}`, `{"party":
["Republican"], "amount_band": ["1000001-5000000"]}`, or a numeric `amount_low` range):

| attribute | type | value |
|---|---|---|
| `ticker` | String | the symbol (absent when the asset has none) |
| `member` | String | the bioguide ID, else the member key (`filer-...`) |
| `party`, `state` | String | e.g. `Democrat`, `CA` (absent when unknown) |
| `side` | String | `buy`, `sell`, `exchange` |
| `amount_band` | String | the range ticked, `low-high` in dollars (`50000001-` for over $50M) |
| `amount_low` | Number | the range's floor, for numeric filters |
| `transaction_key` | String | the trade's key, to drop a redelivered message |

"New" means: a counted trade of this version whose key the version the site published before it
does not hold (its `fact_transactions` keys); a copy of a trade filed again is not counted, so
it is not announced twice. The first publish of a site has nothing before it: it sets the
baseline and announces nothing (a first load of a year must not send thousands of alerts).
Idempotent per version: a marker beside the version's answers (`alerts.json`) records the
announcement, so a retried or duplicated publish announces nothing twice (a crash between the
messages and the marker resends them; the `transaction_key` attribute lets a subscriber drop them).
"""

from __future__ import annotations

import io
from typing import Any

import pyarrow.parquet as pq

from services.common import keys, objects
from services.common.documents import read_manifest
from services.common.notice import USE_RESTRICTION
from services.publish_api.feeds import trade_title
from services.read_model import data

MARKER = "alerts.json"
_BATCH = 10  # SNS PublishBatch takes ten entries


def amount_band(low: float | None, high: float | None) -> str:
    return f"{int(low or 0)}-{'' if high is None else int(high)}"


def previous_keys(s3: Any, gold_bucket: str, version: str) -> set[str] | None:
    """The transaction keys of an earlier Gold version (None when its manifest is gone)."""
    manifest = read_manifest(s3, gold_bucket, version)
    if manifest is None:
        return None
    found: set[str] = set()
    for key in manifest.tables.get("fact_transactions", []):
        body = s3.get_object(Bucket=manifest.gold_bucket or gold_bucket, Key=key)["Body"].read()
        found.update(pq.read_table(io.BytesIO(body), columns=["transaction_key"])["transaction_key"].to_pylist())
    return found


def new_trades(d: data.GoldData, before: set[str]) -> list[dict[str, Any]]:
    """This version's trades that `before` does not hold, oldest disclosure first."""
    rows = [t for t in d.trade_rows if t["transaction_key"] not in before]
    return sorted(rows, key=lambda t: (str(t["disclosure_date"] or ""), t["transaction_key"]))


def attributes(t: dict[str, Any]) -> dict[str, dict[str, str]]:
    def text(value: Any) -> dict[str, str]:
        return {"DataType": "String", "StringValue": str(value)}

    state = (t.get("state_district") or "")[:2]
    out = {
        "member": text(t.get("bioguide_id") or t["member_key"]),
        "amount_band": text(amount_band(t["amount_low"], t["amount_high"])),
        "transaction_key": text(t["transaction_key"]),
    }
    optional = {"ticker": t.get("ticker"), "party": t.get("party"), "state": state or None, "side": t.get("side")}
    out |= {name: text(value) for name, value in optional.items() if value}  # SNS refuses empty values
    if t["amount_low"] is not None:
        out["amount_low"] = {"DataType": "Number", "StringValue": str(int(t["amount_low"]))}
    return out


def message(t: dict[str, Any]) -> tuple[str, str]:
    """(Subject, Message) for an email reader."""
    title = trade_title(t)
    body = (
        f"{title}\n\nAsset: {t.get('asset_name') or '?'}\nOwner: {t.get('owner') or 'self'}\n"
        f"Traded: {t['transaction_date'] or '?'}  Disclosed: {t['disclosure_date'] or '?'}\n"
        f"Filing: {t['doc_id']}  {t.get('source_url') or ''}\n\n{USE_RESTRICTION}"
    )
    return title[:100], body


def publish_trades(sns: Any, topic_arn: str, trades: list[dict[str, Any]]) -> int:
    sent = 0
    for start in range(0, len(trades), _BATCH):
        batch = trades[start : start + _BATCH]
        entries = []
        for i, t in enumerate(batch):
            subject, body = message(t)
            entries.append({"Id": str(i), "Subject": subject, "Message": body, "MessageAttributes": attributes(t)})
        response = sns.publish_batch(TopicArn=topic_arn, PublishBatchRequestEntries=entries)
        if response.get("Failed"):
            raise RuntimeError(f"SNS refused {len(response['Failed'])} trade alerts: {response['Failed'][:2]}")
        sent += len(entries)
    return sent


def announce(s3: Any, sns: Any, *, topic_arn: str, gold: data.GoldData, gold_bucket: str, site_bucket: str,
             previous_version: str | None) -> int:  # fmt: skip
    """Announce the trades of `gold` new since `previous_version`, once per version; the number
    announced now (0 when this version's were announced before). The marker says against which
    version they were told apart (null: the first version, the baseline, announces none)."""
    marker = keys.answers_prefix(gold.version) + MARKER
    done = objects.get_json(s3, site_bucket, marker)
    if done is not None:
        return 0
    before = previous_keys(s3, gold_bucket, previous_version) if previous_version and previous_version != gold.version else None
    fresh = new_trades(gold, before) if before is not None else []
    sent = publish_trades(sns, topic_arn, fresh) if fresh else 0
    s3.put_object(Bucket=site_bucket, Key=marker, ContentType="application/json",
                  Body=f'{{"announced": {sent}, "against": {_json(previous_version if before is not None else None)}}}'.encode())  # fmt: skip
    return sent


def _json(value: str | None) -> str:
    return "null" if value is None else f'"{value}"'
