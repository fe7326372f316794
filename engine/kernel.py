"""What every command and query works with: database, clock, policy, settings, the gate and the workflows."""
from __future__ import annotations

from calendar import monthrange
from datetime import date, datetime, time, timedelta, timezone

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.access import Gate
from engine.audit.chain import AuditLog
from engine.runtime import execution
from engine.runtime.calendar import WorkingCalendar, business_days
from engine.runtime.catalog import TextsCache
from engine.runtime.live import Workflows
from engine.runtime.scripting import RestrictedScriptEngine
from engine.runtime.specs import SpecCache
from engine.runtime.timers import duration_from
from engine.settings import Settings


class Kernel:
    """Built once per process by the composition root; read-only apart from the live-workflow cache."""

    def __init__(self, db, clock, policy, settings: Settings | None = None, spec_cache: SpecCache | None = None):
        self.db = db
        self.clock = clock
        self.policy = policy
        self.settings = settings or Settings()
        self.gate = Gate(policy, clock)
        self.calendar = WorkingCalendar.from_policy(policy)
        self.script_engine = RestrictedScriptEngine(clock, helpers={
            "tally_votes": self.tally_votes, "business_days": business_days, "today": self.today,
            "date_after": self.date_after, "remind_at": self.remind_at})
        self.workflows = Workflows(self.script_engine, spec_cache)
        self.texts = TextsCache()  # process words per bundle sha256, for showing names in the reader's language

    def use_policy(self, policy) -> None:
        """From now on every command of this process asks `policy` (a newer approved version)."""
        self.policy = policy
        self.gate.policy = policy
        self.calendar = WorkingCalendar.from_policy(policy)

    def audit_log(self, session, source: str) -> AuditLog:
        return AuditLog(session, source, self.policy.version, self.clock)

    def tally_votes(self, votes, members, chair=None, committee_size=None):
        """For BPMN scripts: the committee's outcome under the policy (quorum, majority, the chair's veto)."""
        members = list(members or [])
        outcome = self.policy.tally(list(votes or []), members, chair, int(committee_size or len(members)))
        return execution.plain_data({k: v for k, v in vars(outcome).items()})

    def today(self) -> str:
        """For BPMN scripts: the bank's date today (ISO), by the engine clock."""
        return self.policy.local_date(self.clock.now()).isoformat()

    @staticmethod
    def date_after(day: str, period: str) -> str:
        """For BPMN scripts: an ISO date plus an ISO duration (P15D, P1M, P3M) in calendar months, the day clamped
        to the month's end (01-31 + P1M = 02-28), for inspection schedules that do not drift."""
        start = date.fromisoformat(str(day))
        duration_from(str(period), datetime.combine(start, time(), tzinfo=timezone.utc))  # refuses what is no duration
        parts = TimerEventDefinition.parse_iso_duration(str(period))
        months = start.month - 1 + int(parts.get("years", 0)) * 12 + int(parts.get("months", 0))
        year, month = start.year + months // 12, months % 12 + 1
        moved = date(year, month, min(start.day, monthrange(year, month)[1]))
        return (moved + timedelta(weeks=int(parts.get("weeks", 0)), days=int(parts.get("days", 0)))).isoformat()

    def remind_at(self, day: str, lead_days=0) -> str:
        """For BPMN timers (timeDate): 09:00 bank time, `lead_days` calendar days before `day`."""
        moment = datetime.combine(date.fromisoformat(str(day)) - timedelta(days=int(lead_days)), time(9),
                                  tzinfo=self.policy.bank_timezone())
        return moment.isoformat()
