"""Member resolution against congress-legislators: exact where possible, never a guess."""

from __future__ import annotations

from datetime import date

import yaml

from services.build_gold.members import Filer, MemberResolver, load_legislators, member_key


def test_pelosi_by_index_name(resolver):
    match = resolver.resolve(Filer("Nancy", "Pelosi", "CA11", filing_date=date(2025, 1, 17)))
    assert (match.bioguide_id, match.method, match.score) == ("P000197", "exact_name_state_district", 1.0)
    assert (match.term.state, match.term.district) == ("CA", 11)


def test_pelosi_by_header_name_when_the_index_has_none(resolver):
    match = resolver.resolve(
        Filer(None, None, None, header_name="Hon. Nancy Pelosi", header_state_district="CA11")
    )
    assert (match.bioguide_id, match.method) == ("P000197", "header:exact_name_state_district")
    assert match.score == 0.95


def test_index_first_names_with_middles_short_forms_and_nicknames(resolver):
    assert resolver.resolve(Filer("James French", "Hill", "AR02")).bioguide_id == "H001072"
    assert resolver.resolve(Filer("Rob", "Bresnahan", "PA08")).bioguide_id == "B001327"
    rohit = resolver.resolve(Filer("Rohit", "Khanna", "CA17"))
    assert (rohit.bioguide_id, rohit.method, rohit.score) == (
        "K000389",
        "last_name_initial_state_district",
        0.8,
    )


def test_redistricted_member_matches_on_state(resolver):
    match = resolver.resolve(Filer("Nancy", "Pelosi", "CA20"))  # she never held CA20
    assert (match.bioguide_id, match.method) == ("P000197", "name_state")


def test_former_members_and_candidates_stay_unresolved(resolver):
    # Greene and Phillips are not in the current file; the candidates share no seat and name.
    for filer in [
        Filer(
            "Marjorie Taylor",
            "Greene",
            "GA14",
            header_name="Hon. Marjorie Taylor Greene",
            header_state_district="GA14",
        ),
        Filer("Dean", "Phillips", "MN03"),
        Filer("Mark Dr", "Green", "TN07"),
        Filer("David Wayne", "Redkey", "AZ01"),
        Filer("Nancy", "Pelosi", "TX05"),  # right name, wrong state: not her
    ]:
        match = resolver.resolve(filer)
        assert (match.bioguide_id, match.method, match.score) == (None, "unresolved_no_match", None), filer


def _legislator(bioguide: str, first: str, last: str, state: str, district: int) -> dict:
    return {
        "id": {"bioguide": bioguide},
        "name": {"first": first, "last": last, "official_full": f"{first} {last}"},
        "terms": [
            {
                "type": "rep",
                "start": "2025-01-03",
                "end": "2027-01-03",
                "state": state,
                "district": district,
                "party": "X",
            }
        ],
    }


def test_ambiguity_is_never_resolved():
    data = yaml.safe_dump(
        [_legislator("S000001", "John", "Smith", "TX", 1), _legislator("S000002", "Johnny", "Smith", "TX", 2)]
    ).encode()
    resolver = MemberResolver(load_legislators(data))
    assert resolver.resolve(Filer("John", "Smith", "TX01")).bioguide_id == "S000001"
    # Neither holds TX03, and both are a "John Smith" of Texas.
    match = resolver.resolve(Filer("John", "Smith", "TX03"))
    assert (match.bioguide_id, match.method) == (None, "unresolved_ambiguous")


def test_member_keys_are_stable(resolver):
    filer = Filer("Marjorie Taylor", "Greene", "GA14")
    first, second = member_key(filer, resolver.resolve(filer)), member_key(filer, resolver.resolve(filer))
    assert first == second and first.startswith("filer-")
    assert member_key(Filer("Marjorie", "Greene", "GA13"), resolver.resolve(filer)) != first
    pelosi = Filer("Nancy", "Pelosi", "CA11")
    assert member_key(pelosi, resolver.resolve(pelosi)) == "P000197"
