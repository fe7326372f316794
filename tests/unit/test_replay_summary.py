"""The replay's summary: loans counted once per kind, sentences grouped by what differs, most loans first."""
from engine.replay.summary import NONE_DIFFER, PAID_DIRECTLY, SENTENCES, report
from engine.views import LoanReplay, ReplayDifference


def loan(ref: str, *differences: ReplayDifference) -> LoanReplay:
    return LoanReplay(ref, "origination", 1, list(differences))


def tier(old: str, new: str) -> ReplayDifference:
    return ReplayDifference("tier", "Approval by %(new)s instead of %(old)s.", {"old": old, "new": new},
                            "origination", "decide_tier")


def test_sentences_count_loans_per_change_most_loans_first():
    paid = ReplayDifference("payment", "x", {"old": "entrusted", "new": "direct"})
    differing = [loan("L-1", tier("dual_signature", "branch_committee"), paid),
                 loan("L-2", tier("dual_signature", "branch_committee")),
                 loan("L-3", tier("branch_committee", "head_office_committee"))]
    result = report(1204, differing, 1.5, {"origination"})
    assert (result.total, result.same, result.counts) == (1204, 1201, {"tier": 3, "payment": 1})
    texts = [s.template % s.params for s in result.summary]
    assert texts == ["2 of 1204 loans would have gone to branch_committee instead of dual_signature.",
                     "1 of 1204 loans would have gone to head_office_committee instead of branch_committee.",
                     PAID_DIRECTLY % {"count": 1, "total": 1204}]
    assert result.summary[0].template == SENTENCES["tier"][0]


def test_a_loan_counts_once_per_kind_and_nothing_differing_says_so():
    twice = loan("L-1", tier("dual_signature", "branch_committee"), tier("dual_signature", "head_office_committee"))
    assert report(5, [twice], 0.1, ()).counts == {"tier": 1}
    quiet = report(5, [], 0.1, ())
    assert [(s.template, s.params) for s in quiet.summary] == [(NONE_DIFFER, {"total": 5})]


def test_a_difference_unpacks_as_kind_template_params():
    kind, template, params = tier("a", "b")
    assert (kind, params) == ("tier", {"old": "a", "new": "b"}) and "%(new)s" in template
