"""Read side of the service API: inboxes, loan files, task pages. Reads work_item rows, never workflows, for lists."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import and_, func, or_, select

from . import runtime
from .authorization import history_of
from .errors import NotAllowed, NotFound
from .models import DutyRecord, Loan, ProcessInstance, ProcessVersion, RoleGrant, User, WorkItem
from .users import get_user, on_leave, user_view
from .views import ActView, InstanceView, LoanView, TaskFormView, TaskView, WorkItemView

INBOX_KINDS = ("mine", "available", "done")


@dataclass(frozen=True)
class InboxFilter:
    stage: str | None = None
    branch: str | None = None
    due_before: datetime | None = None
    overdue_only: bool = False


def _item_view(item: WorkItem, loan: Loan) -> WorkItemView:
    return WorkItemView(item.id, loan.id, loan.reference, loan.borrower, loan.amount, loan.branch, item.process_id,
                        item.bpmn_id, item.name, item.role, item.duty, item.stage, item.candidate_user,
                        item.claimed_by, item.created_at, item.due_at)


class QueryMixin:
    """Mixed into CreditEngine: needs self.db, self.gate, self.clock."""

    def user(self, username: str):
        """The user with the grants valid today (expired or future grants give no access)."""
        with self.db.reading() as session:
            return user_view(get_user(session, username), self.policy.local_date(self.clock.now()))

    def _eligibility_clause(self, user: User):
        """SQL pre-filter: items in my roles and branches, unclaimed, offered to anyone or to me."""
        today = self.policy.local_date(self.clock.now())
        clauses = []
        for g in user.grants:
            if (g.valid_from and g.valid_from > today) or (g.valid_to and g.valid_to < today):
                continue
            clause = WorkItem.role == g.role
            if g.branch and not g.role.startswith("committee"):
                clause = and_(clause, WorkItem.branch == g.branch)
            clauses.append(clause)
        return or_(*clauses) if clauses else None

    def inbox(self, username: str, kind: str = "mine", filters: InboxFilter | None = None, page: int = 1,
              per_page: int = 50) -> tuple[list[WorkItemView], int]:
        """One page of an inbox and the total count. `available` is checked against the policy per row."""
        filters = filters or InboxFilter()
        with self.db.reading() as session:
            user = get_user(session, username)
            if kind == "done":
                return self._done_by(session, user, page, per_page)
            query = select(WorkItem, Loan).join(Loan, Loan.id == WorkItem.loan_id)
            if kind == "mine":
                query = query.where(or_(WorkItem.claimed_by == username,
                                        and_(WorkItem.candidate_user == username, WorkItem.claimed_by.is_(None))))
            else:
                if on_leave(session, user, self.policy.local_date(self.clock.now())):
                    return [], 0
                clause = self._eligibility_clause(user)
                if clause is None:
                    return [], 0
                query = query.where(clause, WorkItem.claimed_by.is_(None), WorkItem.candidate_user.is_(None))
            if filters.stage:
                query = query.where(WorkItem.stage == filters.stage)
            if filters.branch:
                query = query.where(WorkItem.branch == filters.branch)
            if filters.due_before:
                query = query.where(WorkItem.due_at <= filters.due_before)
            if filters.overdue_only:
                query = query.where(WorkItem.due_at < self.clock.now())
            query = query.order_by(WorkItem.due_at, WorkItem.id)
            if kind == "mine":
                total = session.scalar(select(func.count()).select_from(query.subquery()))
                rows = session.execute(query.offset((page - 1) * per_page).limit(per_page)).all()
                return [_item_view(i, loan) for i, loan in rows], total
            # available: the policy decides per row; scan in batches until the page is full
            offered, batch_offset, memo = [], 0, {}
            start = (page - 1) * per_page
            while len(offered) < start + per_page:
                rows = session.execute(query.offset(batch_offset).limit(per_page * 2)).all()
                if not rows:
                    break
                batch_offset += len(rows)
                self.gate.prefetch_histories(session, [loan for _item, loan in rows], memo)
                for item, loan in rows:
                    if self.gate.decide(session, user, item, loan, memo).allowed:
                        offered.append(_item_view(item, loan))
            more = session.scalar(select(func.count()).select_from(query.subquery())) - batch_offset
            return offered[start:start + per_page], len(offered) + max(more, 0)

    def _done_by(self, session, user: User, page: int, per_page: int):
        query = (select(DutyRecord, Loan).join(Loan, Loan.id == DutyRecord.loan_id)
                 .where(DutyRecord.username == user.username, DutyRecord.bpmn_id.is_not(None))
                 .order_by(DutyRecord.performed_at.desc()))
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        rows = session.execute(query.offset((page - 1) * per_page).limit(per_page)).all()
        return [DoneView(ActView(r.username, r.duty, r.process_id, r.bpmn_id, r.on_behalf_of, r.performed_at),
                         loan.reference, loan.borrower) for r, loan in rows], total

    def inbox_counts(self, username: str) -> dict[str, int]:
        """Counts for the navigation (available is a cheap upper bound: role and branch only)."""
        with self.db.reading() as session:
            user = get_user(session, username)
            mine = session.scalar(select(func.count()).select_from(WorkItem).where(or_(
                WorkItem.claimed_by == username, and_(WorkItem.candidate_user == username, WorkItem.claimed_by.is_(None)))))
            clause = self._eligibility_clause(user)
            available = 0 if clause is None else session.scalar(select(func.count()).select_from(WorkItem).where(
                clause, WorkItem.claimed_by.is_(None), WorkItem.candidate_user.is_(None)))
            return {"mine": mine, "available": available}

    def loan_items(self, loan_ref: str) -> list[WorkItemView]:
        with self.db.reading() as session:
            loan = self.loan_row(session, loan_ref)
            items = session.scalars(select(WorkItem).where(WorkItem.loan_id == loan.id).order_by(WorkItem.id)).all()
            return [_item_view(i, loan) for i in items]

    def candidates(self, item_id: int) -> list[str]:
        """Everyone who may do this task now, by policy."""
        with self.db.reading() as session:
            item = session.get(WorkItem, item_id)
            if item is None:
                raise NotFound("Task %(id)s does not exist or was already completed.", id=item_id)
            loan = session.get(Loan, item.loan_id)
            users = session.scalars(select(User).join(RoleGrant).where(RoleGrant.role == item.role,
                                                                       User.active.is_(True)).distinct()).all()
            return [u.username for u in users if self.gate.decide(session, u, item, loan).allowed]

    def open_loans(self) -> list[str]:
        """References of loans that have not ended (rejected, withdrawn and closed ones have)."""
        with self.db.reading() as session:
            return list(session.scalars(select(Loan.reference).where(
                Loan.status.not_in(("rejected", "withdrawn", "closed"))).order_by(Loan.id)))

    def usernames(self) -> list[str]:
        with self.db.reading() as session:
            return list(session.scalars(select(User.username).order_by(User.username)))

    def loan_tier(self, loan_ref: str) -> str | None:
        with self.db.reading() as session:
            return self.loan_row(session, loan_ref).approval_tier

    def users_with_role(self, role: str, branch: str | None = None) -> list[str]:
        with self.db.reading() as session:
            query = select(User.username).join(RoleGrant).where(RoleGrant.role == role, User.active.is_(True))
            if branch:
                query = query.where(or_(RoleGrant.branch == branch, RoleGrant.branch.is_(None)))
            return sorted(set(session.scalars(query)))

    def task(self, username: str, item_id: int) -> TaskView:
        """A task page: only for whoever holds it or may take it (else NotAllowed, also for other branches)."""
        with self.db.reading() as session:
            item = session.get(WorkItem, item_id)
            if item is None:
                raise NotFound("Task %(id)s does not exist or was already completed.", id=item_id)
            loan = session.get(Loan, item.loan_id)
            user = get_user(session, username)
            if item.claimed_by != username:
                decision = self.gate.decide(session, user, item, loan)
                if not decision.allowed:
                    raise NotAllowed(decision.message_template, **decision.params)
            instance = session.get(ProcessInstance, item.instance_id)
            workflow, loaded = self._restore(instance)
            task = workflow.get_task_from_id(UUID(item.task_id))
            meta = loaded.user_tasks[task.task_spec.name]
            facts = {k: v for k, v in task.data.items() if k not in runtime.PROCESS_PARAMETERS}
            return TaskView(_item_view(item, loan), meta.form, meta.instructions, runtime.plain_data(facts))

    def task_form(self, item_id: int) -> TaskFormView:
        """What a submission is parsed against: the task's form (no policy check here: the completion that
        follows decides, and records a refusal as an event, whichever door it came through)."""
        with self.db.reading() as session:
            item = session.get(WorkItem, item_id)
            if item is None:
                raise NotFound("Task %(id)s does not exist or was already completed.", id=item_id)
            loan = session.get(Loan, item.loan_id)
            loaded = self.loaded(session.get(ProcessInstance, item.instance_id).process_version)
            meta = next(m for m in loaded.user_tasks.values() if m.bpmn_id == item.bpmn_id)
            return TaskFormView(item.id, item.name, loan.reference, meta.form)

    def loan(self, loan_ref: str, with_paths: bool = False) -> LoanView:
        """A loan's file: its fields, every process instance on it and who did what."""
        with self.db.reading() as session:
            loan = self.loan_row(session, loan_ref)
            instances = []
            for inst in session.scalars(select(ProcessInstance).where(ProcessInstance.loan_id == loan.id)
                                        .order_by(ProcessInstance.id)):
                version: ProcessVersion = inst.process_version
                done, current, flows = (), (), ()
                if with_paths:
                    workflow, _loaded = self._restore(inst)
                    done, current, flows = runtime.path_taken(workflow)
                instances.append(InstanceView(inst.id, version.process_id, version.name or version.process_id,
                                              version.version, version.id, inst.status, inst.next_timer_due,
                                              inst.created_at, done, current, flows))
            acts = tuple(ActView(a.username, a.duty, a.process, None, a.on_behalf_of, a.performed_at)
                         for a in history_of(session, loan))
            return LoanView(loan.id, loan.reference, loan.borrower, loan.product, loan.amount, loan.currency,
                            loan.branch, loan.originator, loan.loan_type, loan.stage, loan.classification, loan.status,
                            loan.created_at, dict(loan.application or {}), tuple(instances), acts)

    def duties_in_use(self) -> dict[str, set[str]]:
        """Duty -> lane roles, over the newest version of every deployed process."""
        used: dict[str, set[str]] = {}
        with self.db.reading() as session:
            for version in self._newest_versions(session):
                for meta in self.loaded(version).user_tasks.values():
                    used.setdefault(meta.duty, set()).add(meta.role)
        return used

    def _newest_versions(self, session) -> list[ProcessVersion]:
        newest: dict[str, ProcessVersion] = {}
        for version in session.scalars(select(ProcessVersion).order_by(ProcessVersion.version)):
            newest[version.process_id] = version
        return list(newest.values())

    def policy_problems(self) -> list[str]:
        used = self.duties_in_use()
        problems = self.policy.check_against_bpmn(set(used), self.gate.lane_roles)
        for duty, roles in sorted(used.items()):
            spec = self.policy.duty_specs.get(duty)
            for role in sorted(roles - set(spec.roles if spec else roles)):
                problems.append(f"BPMN puts duty {duty!r} in lane {role!r}, but policy {self.policy.version} "
                                f"assigns it to {', '.join(spec.roles)}")
        return problems

    def explain(self, loan_ref: str, username: str) -> list[ExplainRow]:
        """Every task of the loan's running processes: may this user do it now, and if not, which rule says no."""
        with self.db.reading() as session:
            loan = self.loan_row(session, loan_ref)
            user = get_user(session, username)
            rows, seen = [], set()
            for item in session.scalars(select(WorkItem).where(WorkItem.loan_id == loan.id).order_by(WorkItem.id)):
                rows.append(ExplainRow(item.name, item.duty, item.role, True, self.gate.decide(session, user, item, loan)))
                seen.add((item.process_id, item.bpmn_id))
            running = session.scalars(select(ProcessInstance).where(ProcessInstance.loan_id == loan.id,
                                                                     ProcessInstance.status == "running"))
            for instance in running:
                loaded = self.loaded(instance.process_version)
                for meta in loaded.user_tasks.values():
                    if (loaded.process_id, meta.bpmn_id) in seen:
                        continue
                    seen.add((loaded.process_id, meta.bpmn_id))
                    request = self.gate.request(session, user, meta.duty, loan, meta.role)
                    rows.append(ExplainRow(meta.name, meta.duty, meta.role, False, self.policy.check(request)))
            return rows

    def process_files(self, version_id: int) -> dict[str, str]:
        with self.db.reading() as session:
            version = session.get(ProcessVersion, version_id)
            if version is None:
                raise NotFound("No process version %(id)s.", id=version_id)
            return dict(version.files)


@dataclass(frozen=True)
class ExplainRow:
    task: str
    duty: str
    role: str
    open: bool
    decision: object


@dataclass(frozen=True)
class DoneView:
    """A task I completed, with its loan."""

    act: ActView
    loan_ref: str
    borrower: str
