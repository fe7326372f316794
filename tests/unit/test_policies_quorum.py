"""Quorum is a policy rule: checked when the committee is convened, and recusals never count."""
from policies import default_policy
from policies.committee import convening_problem, quorum_size, tally


def test_quorum_is_two_thirds_of_the_committee_and_at_least_five():
    policy = default_policy()
    assert quorum_size(policy, 7) == 5 and quorum_size(policy, 9) == 6 and quorum_size(policy, 3) == 5


def test_convening_names_what_is_missing():
    policy = default_policy()
    template, params = convening_problem(policy, ["a", "b", "c", "chair"], "chair", 7)
    assert "at least 5 of the 7" in template % params
    template, params = convening_problem(policy, ["a", "b", "c", "d", "e"], "chair", 7)
    assert "chair" in template % params
    assert convening_problem(policy, ["a", "b", "c", "d", "chair"], "chair", 7) is None


def test_a_recusal_is_neither_a_vote_nor_a_member_present():
    policy = default_policy()
    members = ["a", "b", "c", "d", "chair"]
    votes = [{"member": "a", "decision": "recuse"}] + [{"member": m, "decision": "approve"} for m in members[1:]]
    outcome = tally(policy, votes, members, "chair", 7)
    assert outcome.outcome == "no_quorum" and outcome.present == 4 and outcome.cast == 4
