"""Synthetic loans driven through the whole lifecycle by a pool of people who respect the duty pairs."""
from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from engine.errors import InvalidInput
from engine.i18n import _
from engine.simulation.documents import attach_required
from engine.simulation.staff import BRANCH, HEAD_OFFICE, Member, seed_team

TERMINAL = {"rejected", "withdrawn", "closed", "settled"}
FEED = "core_feed"  # the core banking system's account: it reports every disbursed loan's position
# What the core banking feed will report of a disbursed loan: repaid on time; overdue for a while, then brought
# current; or overdue until it is non-performing, worked out by asset preservation, and settled by recoveries.
FATES = (("performing", 0.75), ("cured", 0.1), ("nonperforming", 0.15))
OVERDUE_AFTER_DAYS = 10  # a loan that falls behind misses its first instalment this long after disbursement
CURED_AFTER_DAYS = 45  # and, when it is brought current, pays the arrears this long after that
# (amount range in CNY, share of loans): small dual-signature loans, mid committee loans, a few large ones.
AMOUNT_BANDS = [((200_000, 2_800_000), 0.55), ((3_500_000, 9_000_000), 0.3), ((12_000_000, 45_000_000), 0.15)]
PRODUCTS = ["working_capital", "working_capital", "fixed_asset", "personal_business", "personal_consumer"]


@dataclass
class Summary:
    loans: int = 0
    outcomes: Counter = field(default_factory=Counter)
    tiers: Counter = field(default_factory=Counter)
    tasks: int = 0
    timers: int = 0
    inspections: int = 0
    stuck: list[str] = field(default_factory=list)
    seconds: float = 0.0
    drawdowns: int = 0
    escalations: int = 0
    fates: Counter = field(default_factory=Counter)  # what the feed reported of each disbursed loan
    positions: int = 0  # positions the feed reported that changed a loan's account
    rule_reviews: int = 0  # classification reviews opened by rule: floors crossed, periodic reviews
    classes: Counter = field(default_factory=Counter)  # the classification each disbursed loan ended with
    workouts: int = 0

    def render(self) -> str:
        lines = [
            _("Simulated %(loans)s loans in %(seconds).1f s.", loans=self.loans, seconds=self.seconds),
            _("Outcomes: %(outcomes)s", outcomes=", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items()))),
            _("Approval tiers: %(tiers)s", tiers=", ".join(f"{k} {v}" for k, v in sorted(self.tiers.items())) or "-"),
            _("Human tasks completed: %(tasks)s; timer firings: %(timers)s; inspections: %(inspections)s",
              tasks=self.tasks, timers=self.timers, inspections=self.inspections),
        ]
        lines.append(_("Drawdowns paid: %(drawdowns)s; tasks escalated (overdue or nobody allowed): %(escalations)s",
                       drawdowns=self.drawdowns, escalations=self.escalations))
        if self.fates:
            lines.append(_("Core banking feed: %(positions)s positions recorded; loans repaid on time "
                           "%(performing)s, overdue then brought current %(cured)s, non-performing %(npl)s",
                           positions=self.positions, performing=self.fates["performing"],
                           cured=self.fates["cured"], npl=self.fates["nonperforming"]))
            lines.append(_("Classification reviews opened by rule (floors crossed, periodic reviews): %(reviews)s; "
                           "loans moved to workout: %(workouts)s; final classes: %(classes)s",
                           reviews=self.rule_reviews, workouts=self.workouts,
                           classes=", ".join(f"{k} {v}" for k, v in sorted(self.classes.items())) or "-"))
        if self.tasks:
            lines.append(_("Mean time per human task, including everything it set off: %(ms).1f ms",
                           ms=1000 * self.seconds / self.tasks))
        if self.stuck:
            lines.append(_("Loans that could not finish: %(loans)s", loans=", ".join(self.stuck)))
        return "\n".join(lines)


class Simulation:
    def __init__(self, engine, clock, seed: int = 7, inspections: int = 2, password: str | None = None):
        self.engine = engine
        self.clock = clock
        self.rng = random.Random(seed)
        self.inspections = inspections
        seed_team(engine, password)
        engine.add_people([Member(FEED, "核心系统", (("core_banking", None, None),))], None)  # no sign-in
        self.customer_managers = engine.users_with_role("customer_manager", BRANCH)
        self.ledger: dict[str, dict] = {}  # per loan: its fate and the figures the feed reports

    def application(self) -> dict:
        (low, high), _share = self.rng.choices(AMOUNT_BANDS, weights=[w for _b, w in AMOUNT_BANDS])[0]
        amount = self.rng.randrange(low, high, 10_000)
        product = self.rng.choice(PRODUCTS)
        return {
            "borrower": f"Synthetic Borrower {self.rng.randrange(10_000):04d} Co., Ltd.",
            "product": product, "amount": amount, "term_months": self.rng.choice([6, 12, 24, 36]),
            "small_enterprise": self.rng.random() < 0.4, "new_relationship": self.rng.random() < 0.3,
            "rating": self.rng.choice(["excellent", "good", "good", "average"]),
            "project_investment": amount * 4 if product == "fixed_asset" else 0,
            **self.guarantee(),
        }

    def guarantee(self) -> dict:
        kind = self.rng.choices(["secured", "guaranteed", "unsecured"], weights=[0.6, 0.25, 0.15])[0]
        return {"guarantee_type": kind, **({"guarantor": "Synthetic Guarantee Co., Ltd."} if kind == "guaranteed" else {})}

    def run(self, count: int, progress: bool = False) -> Summary:
        summary = Summary()
        started, since = time.perf_counter(), self.clock.now()
        if progress:
            from rich.progress import Progress
            with Progress() as bar:
                job = bar.add_task(_("Simulating loans"), total=count)
                for _i in range(count):
                    self.one_loan(summary)
                    bar.advance(job)
        else:
            for _i in range(count):
                self.one_loan(summary)
        summary.seconds = time.perf_counter() - started
        self._count_controls(summary, since)
        return summary

    def _count_controls(self, summary: Summary, since) -> None:
        summary.drawdowns = self.engine.count_events("payment_made", since)
        summary.escalations = self.engine.count_events("task_escalated", since)
        summary.positions = self.engine.count_events("position_recorded", since)
        summary.rule_reviews = self.engine.count_rule_reviews(since)

    def one_loan(self, summary: Summary) -> str:
        originator = self.rng.choice(self.customer_managers)
        ref = self.engine.start_loan(originator, self.application(), source="cli")
        summary.loans += 1
        return self.drive(ref, summary)

    def resume(self, progress: bool = False) -> Summary:
        """Finish every loan a previous run left open (a crash, a kill): each command was atomic, so each loan is
        exactly where its last committed step left it."""
        summary = Summary()
        started, since = time.perf_counter(), self.clock.now()
        for ref in self.engine.open_loans():
            summary.loans += 1
            self.drive(ref, summary)
        summary.seconds = time.perf_counter() - started
        self._count_controls(summary, since)
        return summary

    def drive(self, ref: str, summary: Summary) -> str:
        """Do the loan's work, fire its timers and send repayment until it ends."""
        inspections = sum(1 for act in self.engine.loan(ref).acts if act.duty == "review_inspection_report")
        for _step in range(400):
            items = self.engine.loan_items(ref)
            if items:
                if self.work(items[0], summary) and items[0].duty == "review_inspection_report":
                    inspections += 1
                    summary.inspections += 1
                continue
            loan = self.engine.loan(ref)
            if loan.status in TERMINAL:
                summary.outcomes[loan.status] += 1
                if ref in self.ledger:
                    summary.fates[self.ledger[ref]["fate"]] += 1
                    summary.classes[loan.classification] += 1
                    summary.workouts += any(i.process_id == "workout" for i in loan.instances)
                if self.engine.loan_tier(ref):
                    summary.tiers[self.engine.loan_tier(ref)] += 1
                return ref
            if loan.status == "disbursed" and self.report(loan, inspections):
                continue  # the position changed something: there may be work now
            due = [i.next_timer_due for i in loan.instances if i.status == "running" and i.next_timer_due]
            if not due:
                break
            self.clock.set(max(self.clock.now(), min(due)) + timedelta(minutes=1))
            summary.timers += self.engine.tick()
        summary.stuck.append(ref)
        return ref

    def report(self, loan, inspections: int) -> bool:
        """The core banking feed reports the loan's position as of today; True when that changed its account.
        A performing loan settles after its inspections; an overdue one falls further behind with every day until
        it is brought current, or until its workout is over and the recoveries settle it."""
        today = self.clock.now().date()
        plan = self.ledger.get(loan.reference)
        if plan is None:
            fate = self.rng.choices([f for f, _w in FATES], weights=[w for _f, w in FATES])[0]
            paid = loan.approval.paid if loan.approval else loan.amount
            term = int(loan.application.get("term_months") or 12)
            plan = self.ledger[loan.reference] = {"fate": fate, "start": today, "principal": paid,
                                                  "maturity": today + timedelta(days=30 * term)}
        overdue_from = plan["start"] + timedelta(days=OVERDUE_AFTER_DAYS)
        fate, settle = plan["fate"], inspections >= self.inspections
        days = max(0, (today - overdue_from).days) if fate != "performing" else 0
        if fate == "cured" and days > CURED_AFTER_DAYS:
            days = 0
        if fate == "nonperforming":
            settle = any(i.process_id == "workout" and i.status == "completed" for i in loan.instances)
            settle = settle or days > 720  # nobody took it to workout: the simulation still ends
        principal = Decimal(0) if settle else plan["principal"]
        overdue = (plan["principal"] / 4).quantize(Decimal("0.01")) if days and not settle else Decimal(0)
        row = {"loan": loan.reference, "contract_number": f"HT-{loan.reference}",
               "maturity_date": plan["maturity"].isoformat(), "outstanding_principal": str(principal),
               "overdue_principal": str(overdue), "overdue_interest": str((overdue / 100).quantize(Decimal("0.01"))),
               "days_past_due": days if not settle else 0}
        if settle or (fate == "cured" and days == 0 and today > overdue_from):
            row.update(last_repayment_date=today.isoformat(),
                       last_repayment_amount=str(plan["principal"] if settle
                                                 else (plan["principal"] / 4).quantize(Decimal("0.01"))))
        summary = self.engine.import_positions(today, [row], actor=FEED, source="cli")
        if summary.refused:
            raise RuntimeError(f"the feed's position for {loan.reference} was refused: {summary.refused[0]}")
        return bool(summary.accepted)

    def work(self, item, summary: Summary) -> bool:
        """Have someone allowed by the policy do this task; True when it was completed."""
        people = [item.candidate_user] if item.candidate_user else self.engine.candidates(item.id)
        if not people:
            return self._stuck(item)
        actor = self.rng.choice(people)
        task = self.engine.task(actor, item.id)
        for _attempt in range(4):
            data = self.form_data(task.form, item, task.data)
            if "payment_amount" in data:
                data.update(self.drawdown(task.form, task.data, item))
            try:
                attach_required(self.engine, actor, item.id)
                self.engine.complete(actor, item.id, data, source="cli")
                summary.tasks += 1
                self.clock.advance(hours=self.rng.randint(1, 20))
                return True
            except InvalidInput:
                continue
        return self._stuck(item)

    def _stuck(self, item) -> bool:
        raise RuntimeError(f"nobody can do {item.name} on {item.loan_ref}")

    def drawdown(self, schema: dict, facts: dict, item) -> dict:
        """Pay what is left; now and then only half of it first (分次放款), the rest on a later drawdown."""
        left = Decimal(str(facts.get("undrawn", item.amount)))
        split = left == item.amount and self.rng.random() < 0.3
        amount = (left / 2).quantize(Decimal("0.01")) if split else left
        data = {"payment_amount": float(amount), "further_drawdown": split, "currency": "CNY"}
        if "counterparty_account" in schema.get("properties", {}):
            data["counterparty_account"] = f"6222{self.rng.randrange(10 ** 12):012d}"
        return data

    def form_data(self, schema: dict, item, facts: dict | None = None) -> dict:
        data = {}
        for name, prop in schema.get("properties", {}).items():
            data[name] = self.value(name, prop, item)
        facts = facts or {}
        if "classification" in data:  # approve what was proposed, never better than the floor
            options = schema["properties"]["classification"].get("enum", [])
            named = [facts.get(key) for key in ("proposed_classification", "classification_floor")]
            named += [facts.get("proposal", {}).get("proposed_classification")] if isinstance(
                facts.get("proposal"), dict) else []
            known = [c for c in named if c in options]
            if known:
                data["classification"] = max(known, key=options.index)
        return data

    def value(self, name: str, prop: dict, item):
        kind = prop.get("type")
        if "enum" in prop:
            options = prop["enum"]
            if "return_for_supplement" in options and self.rng.random() < 0.08:
                return "return_for_supplement"
            if "reject" in options and self.rng.random() < 0.03:
                return "reject"
            return options[0]
        if kind == "array":
            role = prop.get("items", {}).get("x-role")
            return self.pick_people(role, item, many=True)
        if prop.get("format") == "username":
            return self.pick_people(prop.get("x-role"), item, many=False)
        if prop.get("format") == "date":
            return self.clock.now().date().isoformat()
        if kind == "number":
            return float(item.amount) if "amount" in name else 100_000
        if kind == "integer":
            return 1
        if kind == "boolean":
            return True
        return f"Synthetic {name.replace('_', ' ')}"[: prop.get("maxLength", 200)]

    def pick_people(self, role: str | None, item, many: bool):
        tier = self.engine.loan_tier(item.loan_ref)
        branch = HEAD_OFFICE if tier == "head_office_committee" and role == "committee_member" else BRANCH
        acted = {a.username for a in self.engine.loan(item.loan_ref).acts}
        pool = [u for u in self.engine.users_with_role(role or "", branch) if u not in acted]
        if many:
            return pool
        return self.rng.choice(pool) if pool else ""


