"""Asks the policy set before anyone is offered, claims or completes work; records every refusal."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from policies.model import N_, Actor, Decision, DutyAct, Grant, LoanFacts, Request
from sqlalchemy import bindparam, exists, func, or_, select
from sqlalchemy.orm import Session

from engine.errors import InvalidInput, NotAllowed
from engine.store.models import (Delegation, DutyRecord, Loan, ProcessInstance, ProcessVersion, RoleGrant, User,
                                 WorkItem)
from engine.roles import lane_roles
from engine.store.people import away, on_leave, principals_of


# The look-ahead refusal (engine-made, so its template lives here; the catalogs translate it).
LOOK_AHEAD = N_("Doing this would keep you from %(task)s, which is assigned to you (%(rule)s); leave it to a colleague.")


class PolicyDenied(NotAllowed):
    """A policy refusal, carrying the rule and the policy's own sentence."""

    def __init__(self, decision: Decision):
        super().__init__(decision.message_template, **decision.params)
        self.decision = decision
        self.code = _snake(decision.kind or "policy_refusal")
        self.rule = decision.rule


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def actor_for(session: Session, user: User, now: datetime, policy, away: bool | None = None) -> Actor:
    """`away`: whether they are on leave today, when the caller read it already."""
    return Actor(
        username=user.username,
        grants=tuple(Grant(g.role, g.branch, g.limit, g.valid_from, g.valid_to) for g in user.grants),
        on_leave=on_leave(session, user, policy.local_date(now)) if away is None else away,
        origination_blocked=user.origination_blocked,
    )


def loan_facts(loan: Loan) -> LoanFacts:
    app = loan.application or {}
    return LoanFacts(loan_id=loan.reference, amount=loan.amount, branch=loan.branch, product=loan.product,
                     originator=loan.originator, approval_tier=loan.approval_tier, loan_type=loan.loan_type,
                     group_exposure=app.get("group_exposure"))


_ACTS = select(DutyRecord.username, DutyRecord.duty, DutyRecord.performed_at, DutyRecord.process_id,
               DutyRecord.on_behalf_of, DutyRecord.subject)
_ACTS_READ: dict[tuple[tuple[str, ...], int], object] = {}


def _acts_read(duties: tuple[str, ...], people: int):
    """The statement reading the acts a check reads (see `history_of`), built once per set of duties and number of
    people: plain parameters, none expanded at each run."""
    key = (duties, people)
    statement = _ACTS_READ.get(key)
    if statement is None:
        names = [bindparam(f"p{n}") for n in range(people)]
        statement = _ACTS_READ.setdefault(key, _ACTS.where(
            DutyRecord.loan_id == bindparam("loan_id"),
            DutyRecord.duty.in_([bindparam(f"d{n}") for n in range(len(duties))]),
            or_(DutyRecord.username.in_(names), DutyRecord.on_behalf_of.in_(names), DutyRecord.duty == "originate"))
            .order_by(DutyRecord.id))
    return statement

_OWN_TASKS_ON_LOAN = select(WorkItem).where(WorkItem.loan_id == bindparam("loan_id"), or_(
    WorkItem.claimed_by == bindparam("username"), WorkItem.candidate_user == bindparam("username")))


def history_of(session: Session, loan: Loan, duties: frozenset[str] | None = None,
               people: set[str] | None = None) -> tuple[DutyAct, ...]:
    """The loan's duty acts, oldest first; with `duties` and `people`, only the acts a check reads (see
    `PolicySet.history_read`): those duties, done by or for those people, and every `originate`."""
    if duties is not None and people is not None:
        duty_list, names = tuple(sorted(duties)), sorted(people)
        rows = session.connection().execute(_acts_read(duty_list, len(names)), {
            "loan_id": loan.id, **{f"d{n}": d for n, d in enumerate(duty_list)},
            **{f"p{n}": p for n, p in enumerate(names)}})
    else:
        query = _ACTS.where(DutyRecord.loan_id == loan.id)
        if duties is not None:
            query = query.where(DutyRecord.duty.in_(sorted(duties)))
        if people is not None:
            names = sorted(people)
            query = query.where(or_(DutyRecord.username.in_(names), DutyRecord.on_behalf_of.in_(names),
                                    DutyRecord.duty == "originate"))
        rows = session.connection().execute(query.order_by(DutyRecord.id))
    return tuple(DutyAct(r.username, r.duty, loan.reference, r.performed_at, r.process_id, r.on_behalf_of, r.subject)
                 for r in rows)


_REACHABLE = select(
    User.active,
    away(User.id).label("away"),
    exists().where(Delegation.principal_id == User.id, Delegation.starts_on <= bindparam("day"),
                   Delegation.ends_on >= bindparam("day")).label("stood_in")).where(
    User.username == bindparam("username"))


# In a memo: many rows are decided for one user (an inbox page), so what is read once for all of them pays.
PAGE = "page"


class Gate:
    """The engine's single point of policy enforcement."""

    def __init__(self, policy, clock):
        self.policy = policy
        self.clock = clock

    @property
    def lane_roles(self) -> set[str]:
        """Roles a BPMN lane may name: the policy's roles that do process work."""
        return lane_roles(self.policy)

    @property
    def assignable_duties(self) -> set[str]:
        """Pseudo-duties recorded when someone is named to a role on a loan (e.g. post_loan_manager)."""
        return set(self.policy.duties) & self.lane_roles

    def committee_size(self, session: Session, loan: Loan) -> int:
        """Members of the committee that sits at this loan's level (branch, or head office)."""
        branch = self.policy.params["head_office_branch"] if loan.approval_tier == "head_office_committee" \
            else loan.branch
        return session.scalar(select(func.count(func.distinct(RoleGrant.user_id))).join(User).where(
            RoleGrant.role == "committee_member", RoleGrant.branch == branch, User.active.is_(True)))

    def reachable(self, session: Session, username: str) -> bool:
        """An assignee can take the task: active and not on leave, or on leave with a stand-in (one statement)."""
        row = session.connection().execute(_REACHABLE, {
            "username": username, "day": self.policy.local_date(self.clock.now())}).first()
        return row is not None and bool(row.active) and (not row.away or bool(row.stood_in))

    def home_branch(self, user: User, role: str) -> str | None:
        """The branch of the user's grant for this role; None when they hold no such grant (the policy refuses)."""
        grants = [g for g in user.grants if g.role == role]
        for grant in grants:
            if grant.branch:
                return grant.branch
        if grants:
            raise InvalidInput("Give the branch: your %(role)s role is not tied to one.", role=role)
        return None

    def request(self, session: Session, user: User, duty: str, loan: Loan, role: str | None,
                candidate: str | None = None, subject: str | None = None, memo: dict | None = None,
                branch: str | None = None) -> Request:
        """`memo` lets a caller deciding many rows for one user reuse the actor and prefetched loan histories.
        `branch`: where the work is done when it went up the authority chain (grants there count). Without a
        prefetched history, only the acts the policy reads for `duty` are loaded."""
        now = self.clock.now()
        memo = {} if memo is None else memo
        actor = memo.get(("actor", user.id)) or memo.setdefault(("actor", user.id),
                                                                  actor_for(session, user, now, self.policy))
        acting_for = None
        if candidate and candidate != user.username:
            principal = next((p for p in principals_of(session, user, self.policy.local_date(now))
                              if p.username == candidate), None)
            if principal is not None:
                acting_for = actor_for(session, principal, now, self.policy)
        elif role and not any(g.role == role for g in actor.grants):
            for principal in principals_of(session, user, self.policy.local_date(now)):
                if any(g.role == role for g in principal.grants):
                    acting_for = actor_for(session, principal, now, self.policy)
                    break
        history = memo.get(("history", loan.id))
        if history is None:
            duties = self.policy.history_read(duty)
            people = {user.username} | ({acting_for.username} if acting_for else set())
            history = history_of(session, loan, duties, people)
        facts = loan_facts(loan)
        if branch and branch != facts.branch:
            facts = replace(facts, branch=branch)
        return Request(actor=actor, duty=duty, loan=facts, history=history,
                       now=now, role=role, acting_for=acting_for, subject=subject,
                       recused=frozenset(a.username for a in history if a.duty == "recuse"))

    def decide(self, session: Session, user: User, item: WorkItem, loan: Loan, memo: dict | None = None) -> Decision:
        """The verdict for this user doing this work item now (no side effects)."""
        if item.candidate_user and item.candidate_user != user.username:
            principals = {p.username for p in principals_of(session, user, self.policy.local_date(self.clock.now()))}
            if item.candidate_user not in principals:
                return Decision(False, None, "This task is assigned to %(user)s.", {"user": item.candidate_user},
                                kind="NotAssigned")
        request = self.request(session, user, item.duty, loan, item.role, item.candidate_user,
                               subject=f"{item.process_id}:{item.instance_id}", memo=memo, branch=item.branch)
        decision = self.policy.check(request)
        if decision.allowed:
            return self._look_ahead(session, user, item, loan, request, memo) or decision
        return decision

    @staticmethod
    def _own_tasks(session: Session, user: User, item: WorkItem, loan: Loan, memo: dict | None) -> list[WorkItem]:
        """The other tasks on this loan already assigned to or claimed by the user."""
        if memo is not None and ("mine on", user.id, loan.id) in memo:  # the caller knows them
            return [o for o in memo[("mine on", user.id, loan.id)] if o.id != item.id]
        if memo is None or PAGE not in memo:  # one decision: this loan's only
            mine = session.scalars(_OWN_TASKS_ON_LOAN, {"loan_id": loan.id, "username": user.username}).all()
        else:  # a page of decisions for one user: all of theirs, once
            mine = memo.get(("mine", user.id))
            if mine is None:
                mine = memo.setdefault(("mine", user.id), session.scalars(select(WorkItem).where(or_(
                    WorkItem.claimed_by == user.username, WorkItem.candidate_user == user.username))).all())
        return [o for o in mine if o.loan_id == loan.id and o.id != item.id]

    def _look_ahead(self, session: Session, user: User, item: WorkItem, loan: Loan, request: Request,
                    memo: dict | None) -> Decision | None:
        """Doing this task must not make a task already assigned to or claimed by the same person impossible for
        them: a refusal naming that task, or None. (Otherwise the loan waits for someone who may no longer act.)
        Asked only once the task itself is allowed; the other tasks' duties may read acts this one's check did not,
        so those are loaded then (more acts of the same loan never change the verdict already given)."""
        ahead = self._own_tasks(session, user, item, loan, memo)
        if not ahead:
            return None
        extra = frozenset().union(*(self.policy.history_read(o.duty) for o in ahead)) \
            - self.policy.history_read(item.duty)
        if extra and (memo is None or ("history", loan.id) not in memo):
            history = history_of(session, loan, self.policy.history_read(item.duty) | extra,
                                 {request.actor.username} | ({request.acting_for.username} if request.acting_for
                                                             else set()))
            request = replace(request, history=history,
                              recused=frozenset(a.username for a in history if a.duty == "recuse"))
        done = DutyAct(user.username, item.duty, loan.reference, request.now, item.process_id,
                       request.acting_for.username if request.acting_for else None,
                       f"{item.process_id}:{item.instance_id}")
        for other in ahead:
            ahead_request = replace(request, duty=other.duty, role=other.role,
                                    subject=f"{other.process_id}:{other.instance_id}")
            if not self.policy.check(ahead_request).allowed:
                continue  # already out of reach: doing this one changes nothing for it
            verdict = self.policy.check(replace(ahead_request, history=(*request.history, done)))
            if not verdict.allowed:
                return Decision(False, verdict.rule, LOOK_AHEAD, {"task": other.name, "rule": verdict.rule or ""},
                                kind="WouldBlockOwnTask", policy_version=verdict.policy_version)
        return None

    @staticmethod
    def prefetch_histories(session: Session, loans: list[Loan], memo: dict) -> None:
        """One query for the duty records of many loans (an inbox page), into `memo`."""
        by_id = {loan.id: loan for loan in loans if ("history", loan.id) not in memo}
        if not by_id:
            return
        acts: dict[int, list] = {loan_id: [] for loan_id in by_id}
        rows = session.scalars(select(DutyRecord).where(DutyRecord.loan_id.in_(list(by_id)))
                               .order_by(DutyRecord.id)).all()
        for r in rows:
            acts[r.loan_id].append(DutyAct(r.username, r.duty, by_id[r.loan_id].reference, r.performed_at,
                                           r.process_id, r.on_behalf_of, r.subject))
        for loan_id, found in acts.items():
            memo[("history", loan_id)] = tuple(found)

    def check_task(self, ctx, user: User, item: WorkItem, loan: Loan, action: str,
                   known: dict | None = None) -> Decision:
        """`known`: what the command read already about the person: `on_leave` today, and `other_tasks` (their
        other tasks on this loan; None: not known)."""
        memo = {}
        if known:
            if known.get("on_leave") is not None:
                memo[("actor", user.id)] = actor_for(ctx.session, user, self.clock.now(), self.policy,
                                                     away=known["on_leave"])
            if known.get("other_tasks") is not None:
                memo[("mine on", user.id, loan.id)] = known["other_tasks"]
        decision = self.decide(ctx.session, user, item, loan, memo)
        if not decision.allowed:
            raise self._refusal(ctx.session, decision, action, user.username, item.role, loan, item)
        return decision

    def may_take_over(self, session: Session, target: User, item: WorkItem, loan: Loan) -> Decision:
        """Could `target` do this task if it were handed to them? The same checks as a claim (pairs, limits,
        leave, look-ahead), whoever it is assigned to now."""
        request = self.request(session, target, item.duty, loan, item.role, None,
                               subject=f"{item.process_id}:{item.instance_id}", branch=item.branch)
        decision = self.policy.check(request)
        if decision.allowed:
            decision = self._look_ahead(session, target, item, loan, request, None) or decision
        return decision

    def check_reassignment(self, ctx, target: User, item: WorkItem, loan: Loan) -> Decision:
        decision = self.may_take_over(ctx.session, target, item, loan)
        if not decision.allowed:
            raise InvalidInput("%(user)s may not take this task over.", user=target.username,
                               field_templates={"to_user": (decision.message_template, decision.params)})
        return decision

    def check_origination(self, ctx, user: User, loan: Loan) -> None:
        request = Request(actor=actor_for(ctx.session, user, self.clock.now(), self.policy), duty="originate",
                          loan=loan_facts(loan), history=(), now=self.clock.now(), role="customer_manager")
        decision = self.policy.check(request)
        if not decision.allowed:
            raise self._refusal(ctx.session, decision, "start_loan", user.username, "customer_manager", loan, None)

    def check_duty(self, ctx, user: User, duty: str, loan: Loan, subject: str | None = None) -> Decision:
        """A duty done outside a work item (e.g. raising a warning): any of the duty's roles will do. `subject`: what
        the duty is about, for pair rules scoped to it (an accountability finding)."""
        roles = self.policy.duty_specs[duty].roles
        held = [r for r in roles if any(g.role == r for g in user.grants)] or [roles[0]]
        decision = None
        for role in held:
            decision = self.policy.check(self.request(ctx.session, user, duty, loan, role, subject=subject))
            if decision.allowed:
                return decision
        raise self._refusal(ctx.session, decision, duty, user.username, held[0], loan, None)

    def check_named_users(self, ctx, names: list[str], role: str | None, loan: Loan, item: WorkItem):
        """A user picked in a form (post-loan manager, committee member) must hold the role and pass the pairs."""
        for name in names:
            named = ctx.session.scalar(select(User).where(User.username == name))
            if named is None:
                return ("No user named '%(username)s'.", {"username": name}, None)
            if role and not any(g.role == role and (g.branch in (None, loan.branch) or role.startswith("committee"))
                                for g in named.grants):
                return ("%(username)s does not hold the role %(role)s.", {"username": name, "role": role}, None)
            duty = role if role in self.policy.duties else ("vote" if role == "committee_member" else None)
            if duty is None:
                continue
            request = self.request(ctx.session, named, duty, loan, role if duty != "vote" else None)
            decision = self.policy.check(request)
            if not decision.allowed:
                return (decision.message_template, decision.params, decision.rule)
        return None

    def check_deployment(self, ctx, designer: str | None, approver: str, subject: str) -> None:
        """Four eyes on change: whoever designed a process version may not approve its deployment."""
        user = ctx.session.scalar(select(User).where(User.username == approver))
        if user is None:
            raise InvalidInput("No user named '%(username)s'.", username=approver)
        now = self.clock.now()
        history = (DutyAct(designer, "design_process", None, now, "deployment", subject=subject),) if designer else ()
        request = Request(actor=actor_for(ctx.session, user, now, self.policy), duty="approve_deployment", loan=None,
                          history=history, now=now, subject=subject)
        decision = self.policy.check(request)
        if not decision.allowed:
            error = PolicyDenied(decision)
            error.audit_fields = dict(actor=approver, rule=decision.rule, reason=decision.message,
                                      detail={"attempted": "approve_deployment", "designed_by": designer,
                                              "template": decision.message_template,
                                              "params": {k: str(v) for k, v in decision.params.items()}})
            raise error

    def _refusal(self, session: Session, decision: Decision, action: str, username: str, role: str | None,
                 loan: Loan, item: WorkItem | None) -> PolicyDenied:
        error = PolicyDenied(decision)
        version = None
        if item is not None:
            version = session.scalar(select(ProcessVersion.version).join(
                ProcessInstance, ProcessInstance.process_version_id == ProcessVersion.id).where(
                ProcessInstance.id == item.instance_id))
        error.audit_fields = dict(
            actor=username, role=role, loan_ref=loan.reference if loan.reference != "pending" else None,
            process_id=item.process_id if item else None, instance_id=item.instance_id if item else None,
            process_version=version,
            step=item.bpmn_id if item else None, step_name=item.name if item else None, rule=decision.rule,
            on_behalf_of=decision.on_behalf_of, reason=decision.message,
            detail={"attempted": action, "kind": decision.kind, "params": {k: str(v) for k, v in decision.params.items()},
                    "template": decision.message_template,  # the reason is shown in the reader's language
                    "conflicting": {"duty": decision.conflicting.duty, "user": decision.conflicting.username,
                                    "at": decision.conflicting.performed_at.isoformat()} if decision.conflicting else None},
        )
        return error
