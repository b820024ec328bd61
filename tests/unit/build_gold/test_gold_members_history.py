"""Member resolution against current and former House members, by name, seat and filing date."""

from __future__ import annotations

from datetime import date

import yaml

from services.build_gold.members import Filer, MemberResolver, load_legislators, member_key
from services.build_gold.transform import SilverTables, build_gold_tables


def _filer(row: dict) -> Filer:
    return Filer(
        row["first"], row["last"], row["state_district"],
        filing_date=date.fromisoformat(row["filing_date"]) if row["filing_date"] else None,
        filing_type=row["filing_type"],
    )  # fmt: skip


def _indexed(index_2025: list[dict], doc_id: str) -> Filer:
    return _filer(next(r for r in index_2025 if r["doc_id"] == doc_id))


def test_every_2025_ptr_filer_resolves_with_party_and_district(index_2025, house_resolver):
    ptrs = [r for r in index_2025 if r["filing_type"] == "P"]
    assert len(ptrs) == 471
    for row in ptrs:
        filer = _filer(row)
        match = house_resolver.resolve(filer)
        assert match.resolved and match.kind == "member", row
        state, district, party = match.on(filer.filing_date)
        assert party in {"Democrat", "Republican", "Independent"} and district is not None, row
        # The state the index names, and a member serving then or just before. The district is the
        # one in force on the date: the index still names McCormick's GA06 after he moved to GA07.
        assert state == row["state_district"][:2], row
        assert match.legislator.serving_near(filer.filing_date), row
    mccormick = house_resolver.resolve(_indexed(index_2025, "20030699"))
    assert mccormick.on(date(2025, 6, 1))[:2] == ("GA", 7) and mccormick.on(date(2024, 6, 1))[:2] == ("GA", 6)


def test_former_members_with_their_real_filings(index_2025, house_resolver, resolver):
    # Greene (resigned Jan 2026) filed PTRs all of 2025; Waltz filed 3 days after resigning;
    # Phillips (left Jan 2025) filed his termination report in April.
    for doc_id, bioguide, seat in [
        ("20026658", "G000596", ("GA", 14, "Republican")),
        ("20026639", "W000823", ("FL", 6, "Republican")),
        ("10063264", "P000616", ("MN", 3, "Democrat")),
    ]:
        filer = _indexed(index_2025, doc_id)
        assert not resolver.resolve(filer).resolved  # the current file alone does not know them
        match = house_resolver.resolve(filer)
        assert (match.bioguide_id, match.method, match.score) == (bioguide, "exact_name_state_district", 1.0)
        assert match.on(filer.filing_date) == seat


def test_a_same_name_pair_is_told_apart_by_seat_and_date(house_resolver):
    # Two Mike Rogers: MI-8 until 2015 (R000572) and AL-3 since 2003 (R000575).
    assert house_resolver.resolve(Filer("Mike", "Rogers", "AL03", filing_date=date(2025, 4, 1))).bioguide_id == "R000575"
    assert house_resolver.resolve(Filer("Mike", "Rogers", "MI08", filing_date=date(2014, 4, 1))).bioguide_id == "R000572"
    by_date = house_resolver.resolve(Filer("Mike", "Rogers", None, filing_date=date(2025, 4, 1)))
    assert (by_date.bioguide_id, by_date.method, by_date.score) == ("R000575", "name_only+date", 0.65)
    # In 2014 both sat in the House: no seat, no way to tell, so no guess.
    both = house_resolver.resolve(Filer("Mike", "Rogers", None, filing_date=date(2014, 4, 1)))
    assert (both.bioguide_id, both.method) == (None, "unresolved_ambiguous")
    # A different Rogers of the same party: Hal Rogers' real paper PTR.
    assert house_resolver.resolve(Filer("Harold Dallas", "Rogers", "KY05", filing_date=date(2025, 2, 12))).bioguide_id == "R000395"


def test_candidates_are_candidates_even_with_a_members_name(index_2025, house_resolver):
    # Caraveo (CO-8 until Jan 2025) files as a candidate again; Jim Kingston shares his father's
    # name and seat (Jack Kingston, GA-1 until 2015). Neither filing is a member's.
    for doc_id in ("10072002", "10072542"):
        filer = _indexed(index_2025, doc_id)
        match = house_resolver.resolve(filer)
        assert (match.bioguide_id, match.kind, match.method, match.score) == (None, "candidate", "candidate", None)
        assert member_key(filer, match).startswith("filer-")
    officer = Filer("Jane", "Doe", None, filing_type="P", header_status="Officer or Employee")
    assert house_resolver.resolve(officer).kind == "officer"


def test_a_namesake_not_serving_when_filing_is_not_that_member(index_2025, house_resolver):
    """Paper extension requests have no header to say 'candidate': only the date tells. Jim Kingston
    (GA-01, his father Jack left in 2015), Menefee (sworn in 2026), Walkinshaw (sworn in September
    2025, filed in June) and Flores (left TX-34 in 2023) were not members when they filed."""
    for doc_id in ("8221188", "8220988", "30024007", "30023937"):
        filer = _indexed(index_2025, doc_id)
        assert filer.filing_date is not None
        match = house_resolver.resolve(filer)
        assert (match.bioguide_id, match.method) == (None, "unresolved_no_match"), (doc_id, match.method)
    # The same names once they serve resolve as before.
    walkinshaw = house_resolver.resolve(Filer("James", "Walkinshaw", "VA11", filing_date=date(2025, 11, 1)))
    assert walkinshaw.bioguide_id == "W000831"


def test_a_member_who_moved_districts_is_described_by_the_term_of_the_filing(index_2025, house_resolver):
    # McCormick files under GA06; since January 2025 he sits for GA-07.
    match = house_resolver.resolve(_indexed(index_2025, "20030699"))
    assert (match.term.state, match.term.district, match.term.start) == ("GA", 7, date(2025, 1, 3))


def test_a_placeholder_record_makes_no_one_ambiguous(house_resolver):
    # The history file holds a Gary Palmer whose bioguide ID is "TODO" beside the real P000609.
    match = house_resolver.resolve(Filer("Gary", "Palmer", "AL06", filing_date=date(2025, 5, 1)))
    assert (match.bioguide_id, match.method) == ("P000609", "exact_name_state_district")


def test_party_in_force_on_the_trade_date(house_resolver):
    # Amash left the Republicans in July 2019 (party_affiliations of his term).
    match = house_resolver.resolve(Filer("Justin", "Amash", "MI03", filing_date=date(2019, 12, 1)))
    assert match.on(date(2019, 3, 1))[2] == "Republican"
    assert match.on(date(2019, 8, 1))[2] == "Independent"


def _legislator(bioguide: str, party: str | None, district: int | None) -> dict:
    term = {"type": "rep", "start": "2025-01-03", "end": "2027-01-03", "state": "TX", "district": district}
    return {"id": {"bioguide": bioguide}, "name": {"first": "John", "last": "Smith"},
            "terms": [term | ({"party": party} if party else {})]}  # fmt: skip


def test_unknown_party_stays_unknown_and_is_reported():
    from gold_records import document_record, row, silver_objects

    from services.build_gold.compact import compact_year
    from services.build_gold.quality import run_checks
    from services.common import keys

    resolver = MemberResolver(load_legislators(yaml.safe_dump([_legislator("S000001", None, 1)]).encode()))
    filings = [{"doc_id": "20000001", "year": 2025, "first": "John", "last": "Smith", "filing_type": "P",
                "state_district": "TX01", "filing_date": "2025-02-01"}]  # fmt: skip
    records = [document_record("20000001", ptr={"transactions": [row(1)]})]
    tables, _ = compact_year({"year": 2025, "filings": filings}, keys.filings_key(2025), silver_objects(records), 2025)
    gold = build_gold_tables(SilverTables(**tables.as_dict()), resolver)
    member = gold["dim_member"].to_pylist()[0]
    assert (member["bioguide_id"], member["party"], member["filer_kind"]) == ("S000001", None, "member")
    assert gold["fact_transactions"].to_pylist()[0]["party"] is None
    # Flagged and published: the gate reports it, nothing blocks.
    report = run_checks(gold, today=date(2025, 12, 1))
    check = report.check("member_resolution")
    assert report.passed and report.flagged_checks == ["member_resolution"] and check.severity == "flag"
    assert check.counts["party_or_district_unknown"] == 1 and check.counts["unresolved_ptr_filers"] == 0
    assert check.samples == ["party/district unknown: S000001"]
