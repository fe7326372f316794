"""Seeds a demo bank: one user per role and a dozen loans left at different stages, so every inbox has work."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from engine.bootstrap import BUNDLED_BPMN, build_engine
from engine.clock import ManualClock, utc
from engine.errors import EngineError
from engine.roles import ROLES
from engine.identifiers import USCC_CHARSET, USCC_WEIGHTS
from engine.simulation.driver import FEED, Simulation, Summary

# (originator, borrower, product, amount, stop at this stage / status / "@step" when that step is open, decision)
DEMO_LOANS = [
    ("cm_wang", "北京恒达机械制造有限公司", "working_capital", 1_800_000, "investigation", None),
    ("cm_li", "北京博远科技有限公司", "working_capital", 2_600_000, "investigation", None),
    ("cm_wang", "天津港联物流有限公司", "fixed_asset", 7_500_000, "investigation", None),
    ("cm_zhao", "北京华信食品有限公司", "working_capital", 900_000, "review", None),
    ("cm_li", "北京星辰文化传媒有限公司", "personal_business", 450_000, "review", None),
    ("cm_wang", "河北冀中建材有限公司", "working_capital", 2_200_000, "@sign_risk", None),
    ("cm_sun", "北京京南医疗器械有限公司", "fixed_asset", 12_000_000, "@committee_vote", None),
    ("cm_li", "北京中关村软件园发展有限公司", "working_capital", 2_800_000, "approval", None),
    ("cm_zhao", "北京瑞丰农业发展有限公司", "working_capital", 1_200_000, "contract", None),
    ("cm_li", "北京安泰物业管理有限公司", "working_capital", 800_000, "disbursement", None),
    ("cm_sun", "北京新程电子有限公司", "working_capital", 1_500_000, "disbursed", None),
    ("cm_wang", "北京宏图贸易有限公司", "working_capital", 600_000, "rejected", "reject"),
]
STAGE_ORDER = ["investigation", "review", "approval", "contract", "disbursement", "post_loan", "closed", "archived"]
# Seeding these loans takes about 18 days of engine time (each task 1 to 20 hours after the one before, LOAN_SPACING
# between applications; the seed is fixed, so the span is too). Starting HISTORY_STARTS before now ends the history
# about two days ago: what people do next comes after it, and some of the waiting work is already overdue.
HISTORY_STARTS = timedelta(days=20)
LOAN_SPACING = timedelta(hours=10)
# Loans disbursed before the bank used creditflow, brought under post-loan care by the core banking feed
# (存量贷款纳入): (core banking number, borrower, code without its check character, product, amount, originator,
# disbursed this many days ago, maturing this many days from now, days past due).
DEMO_PORTFOLIO = [
    ("CB-2026-0031", "北京永盛五金制品有限公司", "91110105MA00031YW", "working_capital", 3_000_000, "cm_zhao", 260, 105, 0),
    ("CB-2026-0047", "北京泰和商贸有限公司", "91110106MA00047TH", "working_capital", 1_600_000, "cm_li", 210, 155, 35),
    ("CB-2025-0112", "天津鑫源化工有限公司", "91120116MA00112XY", "fixed_asset", 5_000_000, "cm_sun", 530, 200, 95),
]


@dataclass
class DemoResult:
    loans: list[tuple[str, str, str]]  # (reference, stage, status)
    portfolio: list[tuple[str, str, str]] = None  # the loans the core banking feed brought in, likewise


class SeedingClock(ManualClock):
    """The demo's clock: it moves as the seeding says but never past `ceiling`, so a longer history (another policy,
    more tasks) crowds in just before now instead of running into the future."""

    def __init__(self, start, ceiling):
        super().__init__(start)
        self.ceiling = utc(ceiling)

    def set(self, when) -> None:
        super().set(min(utc(when), self.ceiling))

    def advance(self, **delta):
        self.set(self.now() + timedelta(**delta))
        return self.now()


class DemoDriver(Simulation):
    """The simulation's people, but deciding as the demo says instead of at random."""

    prefer: str | None = None

    def value(self, name, prop, item):
        if "enum" in prop:
            options = list(prop["enum"])
            if self.prefer in options:
                return self.prefer
            safe = [o for o in options if o not in ("return_for_supplement", "reject", "withdraw", "veto")]
            return (safe or options)[0]
        return super().value(name, prop, item)


def seed_demo(database_url: str, password: str, now, policy_path: str | None = None) -> DemoResult:
    """Seed a history that ends before `now`: processes deployed, people added and loans worked on a clock that
    starts HISTORY_STARTS earlier, so the audit trail reads in time order and real work follows it."""
    clock = SeedingClock(now - HISTORY_STARTS, ceiling=now - timedelta(minutes=1))
    engine = build_engine(database_url, clock=clock, policy_path=policy_path)
    try:
        engine.deploy([BUNDLED_BPMN], actor=None, source="cli")
        driver = DemoDriver(engine, clock, seed=11, inspections=0, password=password)
        give_addresses(engine)
        results = []
        for originator, borrower, product, amount, target, prefer in DEMO_LOANS:
            driver.prefer = prefer
            application = {"borrower": borrower, "product": product, "amount": amount, "term_months": 12,
                           "rating": "good", "small_enterprise": amount < 3_000_000,
                           "project_investment": amount * 4 if product == "fixed_asset" else 0}
            ref = engine.start_loan(originator, application, source="cli")
            _advance(engine, driver, ref, target)
            loan = engine.loan(ref)
            results.append((ref, loan.stage, loan.status))
            clock.set(clock.now() + LOAN_SPACING)
        portfolio = feed_portfolio(engine, clock, [ref for ref, _stage, status in results if status == "disbursed"])
        return DemoResult(results, portfolio)
    finally:
        engine.db.dispose()


def uscc(body: str) -> str:
    """A unified social credit code: 17 characters and their check character (GB 32100-2015)."""
    total = sum(USCC_CHARSET.index(c) * w for c, w in zip(body, USCC_WEIGHTS))
    return body + USCC_CHARSET[(31 - total % 31) % 31]


def feed_portfolio(engine, clock, disbursed: list[str]) -> list[tuple[str, str, str]]:
    """Today's core banking feed: the positions of the loans creditflow disbursed, and a portfolio disbursed before it,
    one loan current, one 35 days past due (collection, a warning by rule, a special-mention review) and one 95 days
    (a substandard review waiting for the credit risk department)."""
    today = clock.now().date()
    rows = [{"loan": ref, "contract_number": f"HT-{ref}", "maturity_date": (today + timedelta(days=360)).isoformat(),
             "outstanding_principal": str(engine.loan(ref).approval.paid), "overdue_principal": "0",
             "overdue_interest": "0", "days_past_due": 0} for ref in disbursed]
    engine.import_positions(today, rows, actor=FEED, source="cli")
    onboard = []
    for number, borrower, code, product, amount, originator, ago, ahead, days in DEMO_PORTFOLIO:
        overdue = amount // 4 if days else 0
        onboard.append({"loan": number, "contract_number": f"HT-{number}", "borrower": borrower,
                        "borrower_id": uscc(code), "product": product, "amount": str(amount), "branch": "BJ01",
                        "originator": originator, "disbursed_on": (today - timedelta(days=ago)).isoformat(),
                        "maturity_date": (today + timedelta(days=ahead)).isoformat(),
                        "outstanding_principal": str(amount), "overdue_principal": str(overdue),
                        "overdue_interest": str(overdue // 40), "days_past_due": days})
    engine.import_positions(today, onboard, actor=FEED, source="cli", onboard=True)
    return [(number, engine.loan(number).stage, engine.loan(number).status) for number, *_rest in DEMO_PORTFOLIO]


def give_addresses(engine, domain: str = "bank.example") -> None:
    """Every demo user reads Chinese and has an address made of their surname (cm_wang: wang@bank.example), or of
    the whole user name where two share a surname, so notification e-mails can be tried against a test server."""
    names = engine.usernames()
    surnames = [name.rsplit("_", 1)[-1] for name in names]
    for name, surname in zip(names, surnames):
        local = surname if surnames.count(surname) == 1 else name
        engine.set_contact(name, f"{local}@{domain}", "zh_CN", actor=None, source="cli")


def users_by_role(engine) -> dict[str, list[str]]:
    """Active users per role, in the order roles are listed, as the demo prints them."""
    return {role: names for role in ROLES if (names := engine.users_with_role(role))}


def first_sign_in(engine) -> str | None:
    """The customer manager with the most tasks in their own inbox: where a visitor sees the story move."""
    counts = [(engine.inbox_counts(name)["mine"], name) for name in engine.users_with_role("customer_manager")]
    busiest = sorted(counts, key=lambda c: (-c[0], c[1]))
    return busiest[0][1] if busiest and busiest[0][0] else None


def _reached(engine, loan, target: str) -> bool:
    if target.startswith("@"):
        return loan.status != "active" or any(i.bpmn_id == target[1:] for i in engine.loan_items(loan.reference))
    if target in ("rejected", "withdrawn", "disbursed", "closed"):
        return loan.status == target or loan.status in ("rejected", "withdrawn", "closed")
    if loan.status != "active":
        return True
    return STAGE_ORDER.index(loan.stage) >= STAGE_ORDER.index(target) if loan.stage in STAGE_ORDER else True


def _advance(engine, driver: DemoDriver, ref: str, target: str, limit: int = 60) -> None:
    summary = Summary()
    for _ in range(limit):
        loan = engine.loan(ref)
        if _reached(engine, loan, target):
            return
        items = engine.loan_items(ref)
        if not items:
            return
        try:
            driver.work(items[0], summary)
        except (EngineError, RuntimeError):
            return
