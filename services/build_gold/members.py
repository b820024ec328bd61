"""Resolve filers to bioguide IDs with congress-legislators: current and former House members.

The reference is `legislators-current.yaml` plus a file of former members (on AWS the project's
`legislators-historical.yaml`; offline the fixtures' `legislators-house-2012-2026.yaml`), merged
by bioguide ID, the first file given winning. Records without a real bioguide ID (the history
holds a `TODO` placeholder) are left out: they would make a real member ambiguous.

Who filed is decided first: a candidate's filing (types C and D, or a header saying
"Candidate") and an officer's or employee's are resolved as such (`kind`), never matched to a
member. Every other filing is a member's, matched on a ladder of rules, strictest first. A rule
matches when exactly one legislator satisfies it; when two or more do, those serving in the
House on the filing date (or within a year before it: former members still file) are kept, and
one left resolves at the rule's score less 0.05 (method suffixed `+date`); otherwise the filer
stays unresolved as ambiguous (never a guess). Only when no one satisfies a rule is the next,
looser rule tried. Only House terms count.

| method                            | score | rule                                                      |
|-----------------------------------|-------|-----------------------------------------------------------|
| exact_name_state_district         | 1.00  | last name and first name, state and district of a House term |
| name_state                        | 0.90  | last and first name, state of a House term (redistricting)  |
| last_name_initial_state_district  | 0.80  | last name and first initial, state and district           |
| name_only                         | 0.70  | last and first name, when the filing names no state       |

The index names (First/Last/StateDst) are tried first; the header's filer name ("Hon. Nancy
Pelosi") and state/district are the fallback, at 0.95 of the rule's score, method prefixed
`header:`. The term in force on a date gives party (its `party_affiliations` when the member
switched) and district; at-large seats are district 0.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import yaml

_STATE_DISTRICT = re.compile(r"^([A-Z]{2})(\d{1,2})$")
_TITLES = frozenset({"hon", "honorable", "mr", "mrs", "ms", "miss", "dr", "rep", "representative"})
_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv", "v", "md", "phd", "esq", "dds", "cpa"})
_HEADER_FACTOR = 0.95
_DATE_PENALTY = 0.05
_BIOGUIDE = re.compile(r"^[A-Z]\d{6}$")
# A former member files for trades made while serving (Waltz, weeks after resigning).
SERVING_GRACE = timedelta(days=366)
SERVED_SINCE = date(2007, 1, 1)
CANDIDATE_FILING_TYPES = frozenset({"C", "D"})  # candidate report, campaign notice

MEMBER, CANDIDATE, OFFICER, UNRESOLVED = "member", "candidate", "officer", "unresolved"


@dataclass(frozen=True)
class HouseTerm:
    state: str
    district: int | None
    start: date
    end: date
    party: str | None
    party_affiliations: tuple[tuple[date, date, str], ...] = ()

    def covers(self, on: date, grace: timedelta = timedelta(0)) -> bool:
        return self.start <= on <= self.end + grace

    def party_on(self, on: date | None) -> str | None:
        """The party on a date: a member who switched mid-term lists each span."""
        if on is not None:
            for start, end, party in self.party_affiliations:
                if start <= on <= end:
                    return party
        return self.party


@dataclass(frozen=True)
class Legislator:
    bioguide_id: str
    first: str
    last: str
    official_name: str | None
    given_names: frozenset[str]  # normalized first, nickname, middle and official first names
    last_names: tuple[str, ...]  # normalized tokens of the last name
    house_terms: tuple[HouseTerm, ...]

    def term_for(self, state: str | None, district: int | None, on: date | None) -> HouseTerm | None:
        """The House term that best explains a filing: the one covering its date, then the seat it
        names (a member who moved districts files under the old seat for a while), then the latest."""
        if not self.house_terms:
            return None

        def rank(term: HouseTerm) -> tuple[bool, bool, bool, date]:
            covers = on is not None and term.start <= on <= term.end
            return (covers, term.state == state, term.district == district, term.start)

        return max(self.house_terms, key=rank)

    def term_on(self, on: date | None) -> HouseTerm | None:
        """The House term in force on a date (the latest one starting that day), if any."""
        serving = [t for t in self.house_terms if on is not None and t.covers(on)]
        return max(serving, key=lambda t: t.start) if serving else None

    def serving_near(self, on: date | None) -> bool:
        return on is not None and any(t.covers(on, SERVING_GRACE) for t in self.house_terms)


@dataclass(frozen=True)
class Filer:
    """Who filed, as the index and the document header name them."""

    first: str | None
    last: str | None
    state_district: str | None
    header_name: str | None = None
    header_state_district: str | None = None
    filing_date: date | None = None
    filing_type: str | None = None
    header_status: str | None = None  # the header's "Status:" (Member, Former Member, Candidate, ...)


@dataclass(frozen=True)
class MemberMatch:
    bioguide_id: str | None
    method: str
    score: float | None
    legislator: Legislator | None = None
    term: HouseTerm | None = None
    kind: str = UNRESOLVED  # member, candidate, officer or unresolved

    @property
    def resolved(self) -> bool:
        return self.bioguide_id is not None

    def on(self, day: date | None) -> tuple[str | None, int | None, str | None]:
        """(state, district, party) in force on a day: the term then, else the filing's term."""
        term = (self.legislator.term_on(day) if self.legislator else None) or self.term
        if term is None:
            return None, None, None
        return term.state, term.district, term.party_on(day)


def normalize_tokens(text: str | None) -> tuple[str, ...]:
    """Lowercase ASCII word tokens: 'González-Colón' -> ('gonzalez', 'colon')."""
    if not text:
        return ()
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return tuple(re.sub(r"[^a-z0-9]+", " ", ascii_text.lower()).split())


def parse_state_district(value: str | None) -> tuple[str | None, int | None]:
    """'CA11' -> ('CA', 11); at-large seats are district 0, as in congress-legislators."""
    if not value:
        return None, None
    match = _STATE_DISTRICT.match(value.strip().upper())
    if not match:
        return None, None
    return match[1], int(match[2])


# --- the reference file -----------------------------------------------------------------------


def _house_term(raw: dict) -> HouseTerm | None:
    if raw.get("type") != "rep":
        return None
    return HouseTerm(
        state=raw["state"],
        district=None if raw.get("district") is None else int(raw["district"]),
        start=date.fromisoformat(str(raw["start"])),
        end=date.fromisoformat(str(raw["end"])),
        party=raw.get("party"),
        party_affiliations=tuple(
            (date.fromisoformat(str(a["start"])), date.fromisoformat(str(a["end"])), a["party"])
            for a in raw.get("party_affiliations") or []
            if a.get("party")
        ),
    )


def _legislator(raw: dict) -> Legislator:
    name = raw["name"]
    official = name.get("official_full")
    given = set(normalize_tokens(name.get("first"))[:1])
    given |= set(normalize_tokens(name.get("nickname")))
    given |= set(normalize_tokens(name.get("middle")))
    given |= set(normalize_tokens(official)[:1])
    terms = (_house_term(t) for t in raw.get("terms", []))
    return Legislator(
        bioguide_id=raw["id"]["bioguide"],
        first=name.get("first", ""),
        last=name.get("last", ""),
        official_name=official,
        given_names=frozenset(g for g in given if len(g) > 1),
        last_names=normalize_tokens(name.get("last")),
        house_terms=tuple(t for t in terms if t is not None),
    )


def load_legislators(*files: bytes) -> list[Legislator]:
    """Parse congress-legislators YAML bytes (stored in S3 like any other source), merged by
    bioguide ID: the first file naming a person wins. Placeholder IDs are left out."""
    found: dict[str, Legislator] = {}
    for data in files:
        for legislator in _parse(data):
            found.setdefault(legislator.bioguide_id, legislator)
    return list(found.values())


@functools.lru_cache(maxsize=4)
def _parse(data: bytes) -> tuple[Legislator, ...]:
    # The same files come to every build: a warm function parses a file once (its check on
    # download, then each build, reuse it).
    parsed = (raw for raw in plain_yaml(data) or [] if isinstance(raw, dict))
    return tuple(_legislator(raw) for raw in parsed
                 if _BIOGUIDE.match(str((raw.get("id") or {}).get("bioguide") or "")))


_NULLS = frozenset({"", "~", "null", "Null", "NULL"})


def plain_yaml(data: bytes) -> Any:
    """One YAML document as dicts, lists and strings (a plain null scalar is None; the caller
    converts the few numbers it reads). Built from libyaml's parse events: five to six times
    faster than `yaml.load` with `CSafeLoader` on congress-legislators' files (3 MB, three
    seconds of a build's cold start), whose Python constructors resolve every scalar's type."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    root: list[Any] = []
    open_: list[tuple[Any, list[Any]]] = [(root, [])]  # each open container, and a mapping's pending key

    def add(value: Any) -> None:
        container, key = open_[-1]
        if isinstance(container, list):
            container.append(value)
        elif not key:
            key.append(value)
        else:
            container[key.pop()] = value

    for event in yaml.parse(data, Loader=loader):
        kind = type(event)
        if kind is yaml.ScalarEvent:
            plain_null = event.implicit[0] and event.value in _NULLS
            add(None if plain_null else event.value)
        elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            container: Any = {} if kind is yaml.MappingStartEvent else []
            add(container)
            open_.append((container, []))
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            open_.pop()
        elif kind is yaml.AliasEvent:
            raise ValueError(f"YAML aliases are not read here (*{event.anchor})")
    if len(root) > 1:
        raise ValueError("more than one YAML document")
    return root[0] if root else None


# --- name rules -------------------------------------------------------------------------------


def _given_tokens(first: str | None) -> tuple[str, ...]:
    """Index first names carry middles, initials and stray titles ('Mark Dr', 'William P.')."""
    return tuple(t for t in normalize_tokens(first) if len(t) > 1 and t not in _TITLES | _SUFFIXES)


def _last_matches(last: tuple[str, ...], legislator: Legislator) -> bool:
    # Compound surnames are written in part or in full ('Taylor Greene', 'Hernández Rivera').
    if not last or not legislator.last_names:
        return False
    filed, known = set(last), set(legislator.last_names)
    return filed <= known or known <= filed


def _first_matches(given: tuple[str, ...], legislator: Legislator) -> bool:
    # Any filed given name may be the one used ('James French' for J. French Hill); a short
    # form that starts the full name counts too ('Rob' for 'Robert').
    return any(
        g == name or (min(len(g), len(name)) >= 3 and g.startswith(name))
        for name in given
        for g in legislator.given_names
    )


def _initial_matches(given: tuple[str, ...], first: str | None, legislator: Legislator) -> bool:
    initials = {t[0] for t in normalize_tokens(first)[:1]} | {t[0] for t in given[:1]}
    return bool(initials & ({g[0] for g in legislator.given_names} | {legislator.first[:1].lower()}))


def _holds_seat(legislator: Legislator, state: str, district: int | None) -> bool:
    return any(
        t.state == state and (district is None or t.district == district) for t in legislator.house_terms
    )


Rule = tuple[str, float, Callable[[Legislator], bool]]


def _rules(first: str | None, last: str | None, state: str | None, district: int | None) -> list[Rule]:
    given, surname = _given_tokens(first), normalize_tokens(last)

    def named(leg: Legislator) -> bool:
        return _last_matches(surname, leg) and _first_matches(given, leg)

    if state is None:
        return [("name_only", 0.70, named)]
    return [
        ("exact_name_state_district", 1.00, lambda leg: named(leg) and _holds_seat(leg, state, district)),
        ("name_state", 0.90, lambda leg: named(leg) and _holds_seat(leg, state, None)),
        (
            "last_name_initial_state_district",
            0.80,
            lambda leg: (
                _last_matches(surname, leg)
                and _initial_matches(given, first, leg)
                and _holds_seat(leg, state, district)
            ),
        ),
    ]


class MemberResolver:
    def __init__(self, legislators: Iterable[Legislator]) -> None:
        # The Clerk's indexes start in 2008: members who left before 2007 can only mismatch.
        self._house = [leg for leg in legislators if any(t.end >= SERVED_SINCE for t in leg.house_terms)]
        self._by_last: dict[str, list[Legislator]] = {}
        for leg in self._house:
            for token in set(leg.last_names):
                self._by_last.setdefault(token, []).append(leg)

    def _candidates(self, last: str | None) -> list[Legislator]:
        found: dict[str, Legislator] = {}
        for token in normalize_tokens(last):
            for leg in self._by_last.get(token, []):
                found[leg.bioguide_id] = leg
        return [found[k] for k in sorted(found)]

    def _match(
        self, first: str | None, last: str | None, state_district: str | None, on: date | None
    ) -> MemberMatch:
        if not last:
            return MemberMatch(None, "unresolved_no_name", None)
        state, district = parse_state_district(state_district)
        candidates = self._candidates(last)
        for method, score, rule in _rules(first, last, state, district):
            hits = [leg for leg in candidates if rule(leg)]
            if on is not None and hits:
                # Only someone serving when the filing was made (or within the grace after): a
                # candidate named like a member long gone (a son, Kingston) or not yet sworn in
                # is not that member. Of a same-name pair, the one serving then.
                near = [leg for leg in hits if leg.serving_near(on)]
                if len(hits) > 1 and len(near) == 1:
                    method, score = f"{method}+date", round(score - _DATE_PENALTY, 4)
                hits = near
            if len(hits) > 1:
                return MemberMatch(None, "unresolved_ambiguous", None)
            if hits:
                leg = hits[0]
                term = leg.term_for(state, district, on)
                return MemberMatch(leg.bioguide_id, method, score, leg, term, MEMBER)
        return MemberMatch(None, "unresolved_no_match", None)

    def _match_header(self, name: str, state_district: str | None, on: date | None) -> MemberMatch:
        tokens = [t for t in normalize_tokens(name) if t not in _TITLES | _SUFFIXES]
        # Where the first name ends is unknown ('Marjorie Taylor Greene'): try every split.
        splits = [
            self._match(" ".join(tokens[:k]), " ".join(tokens[k:]), state_district, on)
            for k in range(1, len(tokens))
        ]
        resolved = [m for m in splits if m.resolved]
        if not resolved:
            ambiguous = any(m.method == "unresolved_ambiguous" for m in splits)
            return MemberMatch(None, "unresolved_ambiguous" if ambiguous else "unresolved_no_match", None)
        best = max(m.score or 0.0 for m in resolved)
        top = {m.bioguide_id: m for m in resolved if m.score == best}
        if len(top) > 1:
            return MemberMatch(None, "unresolved_ambiguous", None)
        match = next(iter(top.values()))
        return MemberMatch(
            match.bioguide_id,
            f"header:{match.method}",
            round(best * _HEADER_FACTOR, 4),
            match.legislator,
            match.term,
            MEMBER,
        )

    def resolve(self, filer: Filer) -> MemberMatch:
        kind = filer_kind(filer)
        if kind != MEMBER:
            # Not a member's filing: never matched, even when the name is a member's.
            return MemberMatch(None, kind, None, kind=kind)
        state_district = filer.state_district or filer.header_state_district
        match = self._match(filer.first, filer.last, state_district, filer.filing_date)
        if match.resolved or match.method == "unresolved_ambiguous" or not filer.header_name:
            return match
        header = self._match_header(
            filer.header_name, filer.header_state_district or state_district, filer.filing_date
        )
        return header if header.resolved or not filer.last else match


def filer_kind(filer: Filer) -> str:
    """Who filed, before any name is matched: a candidate, an officer or employee, or a member."""
    status = " ".join(normalize_tokens(filer.header_status))
    if "candidate" in status or (filer.filing_type or "").upper() in CANDIDATE_FILING_TYPES:
        return CANDIDATE
    if "officer" in status or "employee" in status:
        return OFFICER
    return MEMBER


def member_key(filer: Filer, match: MemberMatch) -> str:
    """bioguide ID when resolved; otherwise a stable hash of the filed name, seat and kind
    (a candidate and an unmatched member's filings of the same name stay apart)."""
    if match.bioguide_id:
        return match.bioguide_id
    if filer.last:
        name = normalize_tokens(filer.last) + ("|",) + _given_tokens(filer.first)
    else:
        name = tuple(t for t in normalize_tokens(filer.header_name) if t not in _TITLES | _SUFFIXES)
    seat = (filer.state_district or filer.header_state_district or "").strip().upper()
    kind = "" if match.kind in (MEMBER, UNRESOLVED) else f"|{match.kind}"
    digest = hashlib.sha256(f"{' '.join(name)}|{seat}{kind}".encode()).hexdigest()[:16]
    return f"filer-{digest}"
