"""Prometheus metrics: command latency and outcome (per process) and the state of the work (read from the database)."""
from __future__ import annotations

import logging
from datetime import datetime

from prometheus_client import Histogram
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

log = logging.getLogger("creditflow.engine")

COMMAND_SECONDS = Histogram("creditflow_command_seconds", "Engine command latency by command and outcome",
                            ["command", "outcome"], buckets=(.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))


def observe_command(name: str, source: str, outcome: str, seconds: float, ctx) -> None:
    """One log line and one histogram observation per engine command."""
    COMMAND_SECONDS.labels(name, outcome).observe(seconds)
    loan = instance = None
    if ctx is not None:
        loan = ctx.audit.loan_ref
        instance = ctx.current
    level = logging.WARNING if outcome in ("failed", "error") else logging.INFO
    log.log(level, "command %s %s", name, outcome, extra={
        "command": name, "source": source, "outcome": outcome, "loan": loan, "instance": instance,
        "duration_ms": round(seconds * 1000, 2)})


class WorkCollector:
    """Gauges computed from the database at scrape time, so every process reports the same truth."""

    def __init__(self, engine):
        self.engine = engine

    def describe(self):
        return []

    def collect(self):
        from engine.store.models import AuditEvent, Incident, ProcessInstance, WorkItem
        now: datetime = self.engine.clock.now()
        with self.engine.db.reading() as session:
            open_items = GaugeMetricFamily("creditflow_open_work_items", "Open work items by role", labels=["role"])
            for role, count in session.execute(select(WorkItem.role, func.count()).group_by(WorkItem.role)):
                open_items.add_metric([role], count)
            yield open_items
            oldest = session.scalar(select(func.min(ProcessInstance.next_timer_due)).where(
                ProcessInstance.status == "running", ProcessInstance.next_timer_due <= now))
            lag = GaugeMetricFamily("creditflow_oldest_overdue_timer_seconds",
                                    "How long the oldest due timer has waited (0: none waiting)")
            lag.add_metric([], max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
            yield lag
            incidents = GaugeMetricFamily("creditflow_open_incidents", "Open incidents by kind", labels=["kind"])
            for kind in ("timer", "message", "task"):
                incidents.add_metric([kind], 0)
            for kind, count in session.execute(select(Incident.kind, func.count()).where(Incident.status == "open")
                                               .group_by(Incident.kind)):
                incidents.add_metric([kind], count)
            yield incidents
            chain = GaugeMetricFamily("creditflow_audit_chain_length", "Events in the audit chain")
            chain.add_metric([], session.scalar(select(func.max(AuditEvent.id))) or 0)
            yield chain
            yield self._emails(session)

    @staticmethod
    def _emails(session):
        """Notification e-mails waiting to go out, and those that failed for good."""
        from engine.store.models import Outbox
        emails = GaugeMetricFamily("creditflow_notification_emails", "Notification e-mails by status (pending, "
                                   "failed)", labels=["status"])
        counts = dict(session.execute(select(Outbox.status, func.count()).where(
            Outbox.status.in_(("pending", "failed"))).group_by(Outbox.status)).all())
        for status in ("pending", "failed"):
            emails.add_metric([status], counts.get(status, 0))
        return emails
