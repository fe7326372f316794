"""What every command and query works with: database, clock, policy, settings, the gate and the workflows."""
from __future__ import annotations

from engine.access import Gate
from engine.audit.chain import AuditLog
from engine.runtime import execution
from engine.runtime.calendar import WorkingCalendar, business_days
from engine.runtime.live import Workflows
from engine.runtime.scripting import RestrictedScriptEngine
from engine.runtime.specs import SpecCache
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
        self.script_engine = RestrictedScriptEngine(clock, helpers={"tally_votes": self.tally_votes,
                                                                    "business_days": business_days})
        self.workflows = Workflows(self.script_engine, spec_cache)

    def audit_log(self, session, source: str) -> AuditLog:
        return AuditLog(session, source, self.policy.version, self.clock)

    def tally_votes(self, votes, members, chair=None, committee_size=None):
        """For BPMN scripts: the committee's outcome under the policy (quorum, majority, the chair's veto)."""
        members = list(members or [])
        outcome = self.policy.tally(list(votes or []), members, chair, int(committee_size or len(members)))
        return execution.plain_data({k: v for k, v in vars(outcome).items()})
