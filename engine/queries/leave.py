"""Mandatory leave (强制休假) as the branch head and compliance read it: who in a sensitive role has had it this year."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.errors import InvalidInput
from engine.kernel import Kernel
from engine.store.models import Leave, RoleGrant, User
from policies.leave import days_missing, longest_leave_run, monitored_roles

FIRST_YEAR, LAST_YEAR = 2000, 2100


@dataclass(frozen=True)
class LeaveStanding:
    """One person in a sensitive role: the longest run of leave in the year and the business days still missing."""

    username: str
    display_name: str
    roles: tuple[str, ...]      # the sensitive roles held that year, in the policy's order
    branches: tuple[str, ...]   # where those grants apply (none listed: bank-wide)
    longest_run: int            # business days in a row on leave
    missing: int
    status: str                 # compliant; not_yet while the year runs; missed once it is over


@dataclass(frozen=True)
class LeaveReport:
    year: int
    min_business_days: int
    roles: tuple[str, ...]
    people: tuple[LeaveStanding, ...]  # those still short first, then by user name

    @property
    def short(self) -> int:
        return sum(1 for p in self.people if p.missing)


def leave_report(session: Session, kernel: Kernel, year: int | None = None) -> LeaveReport:
    """Every active user with a sensitive grant valid in `year` (default: this year in the bank's time zone)."""
    policy = kernel.policy
    today = policy.local_date(kernel.clock.now())
    year = today.year if year is None else year
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidInput("Choose a year between %(first)s and %(last)s.", first=FIRST_YEAR, last=LAST_YEAR)
    first, last = date(year, 1, 1), date(year, 12, 31)
    grants = session.execute(
        select(User.id, User.username, User.display_name, RoleGrant.role, RoleGrant.branch).join(RoleGrant).where(
            User.active.is_(True), RoleGrant.role.in_(policy.mandatory_leave_roles),
            or_(RoleGrant.valid_from.is_(None), RoleGrant.valid_from <= last),
            or_(RoleGrant.valid_to.is_(None), RoleGrant.valid_to >= first))).all()
    people: dict[int, tuple[str, str]] = {}
    roles, branches = defaultdict(set), defaultdict(set)
    for user_id, username, display_name, role, branch in grants:
        people[user_id] = (username, display_name or username)
        roles[user_id].add(role)
        if branch:
            branches[user_id].add(branch)
    periods = defaultdict(list)
    for user_id, starts_on, ends_on in session.execute(select(Leave.user_id, Leave.starts_on, Leave.ends_on).where(
            Leave.user_id.in_(list(people)), Leave.starts_on <= last, Leave.ends_on >= first)):
        periods[user_id].append((starts_on, ends_on))
    days = (first + timedelta(days=i) for i in range((last - first).days + 1))
    working = {day: kernel.calendar.is_working_day(day) for day in days}  # asked once per day, not per person
    standings = []
    for user_id, (username, display_name) in people.items():
        run = longest_leave_run(periods[user_id], year, working.__getitem__)
        missing = days_missing(policy, run)
        status = "compliant" if not missing else "missed" if year < today.year else "not_yet"
        standings.append(LeaveStanding(username, display_name, monitored_roles(policy, roles[user_id]),
                                       tuple(sorted(branches[user_id])), run, missing, status))
    standings.sort(key=lambda s: (not s.missing, s.username))
    return LeaveReport(year, policy.params["leave_min_business_days"], tuple(policy.mandatory_leave_roles),
                       tuple(standings))
