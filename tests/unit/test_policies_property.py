"""Property: no allowed decision ever lets one person hold both sides of a pair."""
import warnings
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from policies import DEFAULT_POLICY, Actor, DutyAct, Grant, LoanFacts, Request, default_policy, parse_policy

with warnings.catch_warnings():  # hypothesis loads this to report a failure; under -W error its
    warnings.simplefilter("ignore", DeprecationWarning)  # libcst import would hide the falsifying example
    try:
        import hypothesis.extra._patching  # noqa: F401
    except ImportError:  # pragma: no cover
        pass

POLICY = default_policy()
RAW = yaml.safe_load(DEFAULT_POLICY.read_text(encoding="utf-8"))
USERS = ["ann", "bo", "chen", "dai"]
LOANS = ["L-1", "L-2"]
SUBJECTS = [None, "W-1", "W-2"]
DUTIES = sorted(RAW["duties"])
NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)


def expand(names):
    """Independent of the evaluator: read the pair table straight from the YAML."""
    out = set()
    for name in names:
        out |= set(RAW["duty_groups"][name]["duties"]) if name in RAW["duty_groups"] else {name}
    return out


PAIRS = [(r["id"], expand(r["a"]), expand(r["b"]), r["scope"]) for r in RAW["incompatible"]]


def everything(name):
    return Actor(name, tuple(Grant(role, None, Decimal("1e12") if role == "risk_manager" else None)
                             for role in RAW["roles"]))


def violations(request):
    """Pairs this request would break, by brute force over the history and the loan's originator."""
    people = set(request.people)
    loan = request.loan
    acts = list(request.history)
    if not any(a.duty == "originate" and a.loan_id == loan.loan_id and loan.originator in (a.username, a.on_behalf_of)
               for a in acts):
        acts.append(DutyAct(loan.originator, "originate", loan.loan_id, NOW, "origination"))
    found = set()
    for rule_id, side_a, side_b, scope in PAIRS:
        for a in acts:
            if not ({a.username, a.on_behalf_of} & people):
                continue
            if not ((a.duty in side_a and request.duty in side_b) or (a.duty in side_b and request.duty in side_a)):
                continue
            if scope == "subject" and a.subject is not None and request.subject is not None:
                same = a.subject == request.subject
            else:
                same = a.loan_id == loan.loan_id
            if same:
                found.add(rule_id)
    return found


acts = st.builds(
    DutyAct,
    username=st.sampled_from(USERS),
    duty=st.sampled_from(DUTIES),
    loan_id=st.sampled_from(LOANS),
    performed_at=st.integers(0, 300).map(lambda d: NOW - timedelta(days=d)),
    process=st.sampled_from(["origination", "post_loan", "warning"]),
    on_behalf_of=st.sampled_from([None, *USERS]),
    subject=st.sampled_from(SUBJECTS),
)

requests = st.builds(
    lambda actor, duty, loan_id, originator, history, principal, subject: Request(
        everything(actor), duty,
        LoanFacts(loan_id, Decimal("1000000"), "SH01", "working_capital", originator),
        tuple(history), NOW, acting_for=everything(principal) if principal else None, subject=subject,
    ),
    actor=st.sampled_from(USERS),
    duty=st.sampled_from(DUTIES),
    loan_id=st.sampled_from(LOANS),
    originator=st.sampled_from(USERS),
    history=st.lists(acts, max_size=8),
    principal=st.sampled_from([None, *USERS]),
    subject=st.sampled_from(SUBJECTS),
)


@settings(max_examples=400, deadline=None)
@given(requests)
def test_allowed_never_violates_a_pair(request):
    decision = POLICY.check(request)
    broken = violations(request)
    if decision.allowed:
        assert not broken, f"allowed but violates {broken}"
    if broken:
        assert not decision.allowed
        if decision.kind == "DutyConflict":
            assert decision.rule in broken


@settings(max_examples=200, deadline=None)
@given(requests)
def test_explain_agrees_with_check(request):
    decision = POLICY.check(request)
    refusals = [d for d in POLICY.explain(request) if not d.allowed]
    if decision.allowed:
        assert refusals == []
    else:
        assert refusals[0] == decision


def read_only(request, also=(), policy=POLICY):
    """What the engine loads without a prefetched history: this loan's acts of the duties the policy reads for this
    duty (and for `also`), done by or for the people asking, plus every `originate`."""
    duties = frozenset().union(*(policy.history_read(d) for d in (request.duty, *also)))
    people = set(request.people)
    return tuple(a for a in request.history if a.loan_id == request.loan.loan_id and a.duty in duties and (
        a.duty == "originate" or a.username in people or a.on_behalf_of in people))


# the same policy with the business signature by a second customer manager who did not work on the file
SECOND_SIGNER = parse_policy(DEFAULT_POLICY.read_text(encoding="utf-8").replace(
    "business_signature_by: originator", "business_signature_by: second_customer_manager"), str(DEFAULT_POLICY))
POLICIES = {"default": POLICY, "second signer": SECOND_SIGNER}


@settings(max_examples=600, deadline=None)
@given(requests, st.lists(st.sampled_from(DUTIES), max_size=2), st.sampled_from(sorted(POLICIES)),
       st.sampled_from([None, *sorted(RAW["roles"])]))
def test_the_history_a_check_reads_gives_the_verdict_of_the_whole_history(request, also, policy_name, role):
    policy = POLICIES[policy_name]
    narrowed_acts = read_only(request, also, policy)
    narrowed = Request(request.actor, request.duty, request.loan, narrowed_acts, request.now, role=role,
                       acting_for=request.acting_for, subject=request.subject,
                       recused=frozenset(a.username for a in narrowed_acts if a.duty == "recuse"))
    loan_acts = tuple(a for a in request.history if a.loan_id == request.loan.loan_id)  # what the engine had
    whole = Request(request.actor, request.duty, request.loan, loan_acts, request.now, role=role,
                    acting_for=request.acting_for, subject=request.subject,
                    recused=frozenset(a.username for a in loan_acts if a.duty == "recuse"))
    assert policy.explain(narrowed) == policy.explain(whole)
    for duty in also:  # the look-ahead checks another duty with the same (narrowed) history
        assert policy.explain(Request(narrowed.actor, duty, narrowed.loan, narrowed.history, narrowed.now,
                                      acting_for=narrowed.acting_for, subject=narrowed.subject,
                                      recused=narrowed.recused)) \
            == policy.explain(Request(whole.actor, duty, whole.loan, whole.history, whole.now,
                                      acting_for=whole.acting_for, subject=whole.subject, recused=whole.recused))


def test_a_narrowed_history_is_what_makes_a_refusal_possible():
    """The property above would hold trivially if nothing were read: a conflicting act survives the narrowing."""
    loan = LoanFacts("L-1", Decimal("1000000"), "SH01", "working_capital", "ann")
    history = (DutyAct("bo", "investigate", "L-1", NOW, "origination"),)
    request = Request(everything("bo"), "review", loan, history, NOW)
    assert read_only(request) == history
    assert not POLICY.check(request).allowed
    assert read_only(Request(everything("chen"), "review", loan, history, NOW)) == ()
    recusal = (DutyAct("bo", "recuse", "L-1", NOW, "origination"),)  # a voter's declared conflict is read too
    assert read_only(Request(everything("bo"), "vote", loan, recusal, NOW, recused={"bo"})) == recusal
    # a second customer manager's business signature reads whether they worked on the file
    worked = (DutyAct("bo", "investigate", "L-1", NOW, "origination"),)
    signing = Request(everything("bo"), "sign_business", loan, worked, NOW)
    assert read_only(signing, policy=SECOND_SIGNER) == worked
    refused = [d.rule for d in SECOND_SIGNER.explain(Request(everything("bo"), "sign_business", loan,
                                                             read_only(signing, policy=SECOND_SIGNER), NOW))
               if not d.allowed]
    assert "SIGN-01" in refused and refused == [d.rule for d in SECOND_SIGNER.explain(signing) if not d.allowed]
