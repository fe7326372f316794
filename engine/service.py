"""The service API the web app and the CLI hold: each command opens one unit of work and hands it to its module
in `engine/commands`; each query reads through `engine/queries`. Nothing here decides anything."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from engine.application import APPLICATION_SCHEMA, NEW_LOAN_SCHEMA
from engine.audit.search import EventFilter, count_events
from engine.commands import blocks, comments, committee, floors, loan_changes, loans, messages, people, servicing
from engine.commands import sessions, tasks, timers
from engine.commands import reassign as reassignment
from engine.commands import incidents as incident_commands
from engine.commands.failures import count_failure
from engine.commands.unit import open_unit, record_refusal
from engine.errors import InvalidInput, ScriptFailed
from engine.kernel import Kernel
from engine.queries import doctor, inbox, incidents as incident_queries, loans as loan_queries
from engine.queries import people as people_queries, tasks as task_queries
from engine.queries import file_record, loan_search
from engine.runtime.specs import SpecCache
from engine.runtime.validation import DeploymentRejected  # noqa: F401  (part of the service API)
from engine.service_collateral import CollateralDesk
from engine.service_integrity import TrailIntegrity
from engine.service_processes import ProcessStudio
from engine.settings import Settings


class CreditEngine(ProcessStudio, CollateralDesk, TrailIntegrity):
    """One per process: the kernel (database, clock, policy, gate, workflows) and a method per command and query."""

    def __init__(self, db, clock, policy, spec_cache: SpecCache | None = None):
        self.kernel = Kernel(db, clock, policy, spec_cache=spec_cache)
        self.db, self.clock = db, clock
        self.gate, self.workflows = self.kernel.gate, self.kernel.workflows

    @property
    def policy(self):
        """The policy this process asks now (a newer approved version replaces it in every worker)."""
        return self.kernel.policy

    @property
    def settings(self) -> Settings:
        return self.kernel.settings

    @settings.setter
    def settings(self, value: Settings) -> None:
        self.kernel.settings = value  # the composition root hands over the process's settings
        self.workflows.live.resize(max_bytes=max(0, value.live_cache_mb) * 2**20)

    def command(self, source: str, name: str = "command"):
        return open_unit(self.kernel, source, name)

    def _record_refusal(self, source: str, fields: dict) -> None:
        record_refusal(self.kernel, source, fields)

    def _read(self, query, *args):
        with self.db.reading() as session:
            return query(session, *args)

    # -- loans --------------------------------------------------------------------------------
    def start_loan(self, actor: str, application: dict, source: str = "web") -> str:
        with self.command(source, "start_loan") as unit:
            return loans.start_loan(unit, actor, application)

    def request_extension(self, actor: str, loan_ref: str, months, reason: str, source: str = "web") -> int:
        """展期: before maturity, the loan's customer manager asks to extend it; returns the extension's instance."""
        with self.command(source, "request_extension") as unit:
            return loan_changes.request_extension(unit, actor, loan_ref, months, reason)

    def replace_loan(self, actor: str, loan_ref: str, kind: str, changes: dict | None = None,
                     source: str = "web") -> str:
        """借新还旧 or 重组: a new loan replacing a disbursed one; returns the new loan's reference."""
        with self.command(source, "replace_loan") as unit:
            return loan_changes.replace_loan(unit, actor, loan_ref, kind, changes)

    def raise_warning(self, actor: str, loan_ref: str, signal: str, source: str = "web") -> int:
        if not (signal or "").strip():
            raise InvalidInput("Describe the warning signal.", fields={"signal": "This field is required."})
        with self.command(source, "raise_warning") as unit:
            return loans.raise_warning(unit, actor, loan_ref, signal)

    def send_message(self, loan_ref: str, name: str, payload: dict | None = None, actor: str | None = None,
                     source: str = "cli") -> int:
        return messages.send_message(self.kernel, loan_ref, name, payload, actor, source)

    def import_positions(self, as_of, rows, actor: str | None = None, source: str = "cli", on_row=None,
                         onboard: bool = False):
        """The core banking feed: positions as of a business date, each row checked and recorded on its own;
        `onboard` rows also open the credit file of loans disbursed before creditflow."""
        return servicing.import_positions(self.kernel, as_of, rows, actor, source, on_row, onboard)

    def check_feed(self, actor: str, source: str = "api") -> None:
        """Refuse (and record) anyone but the core banking system reporting positions, before reading the batch."""
        servicing.check_feed(self.kernel, actor, source)

    def loan(self, loan_ref: str, with_paths: bool = False):
        return self._read(loan_queries.loan, self.kernel, loan_ref, with_paths)

    def search_loans(self, username: str, search: loan_search.LoanSearch | None = None, page: int = 1,
                     per_page: int = 50) -> tuple[list, int]:
        """The credit files this user may open, filtered and sorted; one page and the total."""
        return self._read(loan_search.search_loans, self.kernel, username, search or loan_search.LoanSearch(),
                          page, per_page)

    def file_record(self, loan_ref: str) -> list:
        """Every decision on the loan as its own entry, and the comments, oldest first."""
        return self._read(file_record.file_record, loan_ref)

    def add_comment(self, actor: str, loan_ref: str, text: str, source: str = "web") -> None:
        with self.command(source, "comment") as unit:
            comments.add_comment(unit, actor, loan_ref, text)

    def loan_items(self, loan_ref: str):
        return self._read(loan_queries.loan_items, loan_ref)

    def loan_tier(self, loan_ref: str) -> str | None:
        return self._read(loan_queries.loan_tier, loan_ref)

    def open_loans(self) -> list[str]:
        return self._read(loan_queries.open_loans)

    def explain(self, loan_ref: str, username: str) -> list:
        return self._read(loan_queries.explain, self.kernel, loan_ref, username)

    @staticmethod
    def application_schema() -> dict:
        """Every field and value an application may hold (what recorded applications are read with)."""
        return APPLICATION_SCHEMA

    @staticmethod
    def new_loan_schema() -> dict:
        """What a new application may say: a new loan (extensions and replacements start from their loan)."""
        return NEW_LOAN_SCHEMA

    # -- tasks --------------------------------------------------------------------------------
    def claim(self, actor: str, item_id: int, source: str = "web") -> None:
        with self.command(source, "claim") as unit:
            tasks.claim(unit, actor, item_id)

    def release(self, actor: str, item_id: int, source: str = "web") -> None:
        with self.command(source, "release") as unit:
            tasks.release(unit, actor, item_id)

    def complete(self, actor: str, item_id: int, data: dict, source: str = "web", reason: str | None = None) -> None:
        """Any refusal or failure changes nothing; a step that fails after the task is also counted on an
        incident, so a broken redesign shows on the incident list, not only to this user."""
        try:
            with self.command(source, "complete") as unit:
                tasks.complete(unit, actor, item_id, data, reason)
        except ScriptFailed as err:
            if err.instance_id is not None:
                count_failure(self.kernel, err.instance_id, "task", err, detail={"task": getattr(err, "task", None)})
            raise

    def reassign(self, actor: str, item_id: int, to_user: str, reason: str, source: str = "web") -> None:
        with self.command(source, "reassign") as unit:
            reassignment.reassign(unit, actor, item_id, to_user, reason)

    def close_meeting(self, actor: str, loan_ref: str, reason: str, source: str = "web") -> list[str]:
        """The chair closes the committee meeting with those present; returns who was recorded absent."""
        with self.command(source, "close_meeting") as unit:
            return committee.close_meeting(unit, actor, loan_ref, reason)

    def inbox(self, username: str, kind: str = "mine", filters: inbox.InboxFilter | None = None, page: int = 1,
              per_page: int = 50) -> tuple[list, int]:
        return self._read(inbox.inbox, self.kernel, username, kind, filters, page, per_page)

    def inbox_counts(self, username: str) -> dict[str, int]:
        return self._read(inbox.inbox_counts, self.kernel, username)

    def candidates(self, item_id: int) -> list[str]:
        return self._read(inbox.candidates, self.kernel, item_id)

    def reassign_candidates(self, item_id: int) -> list[str]:
        return self._read(inbox.reassign_candidates, self.kernel, item_id)

    def task(self, username: str, item_id: int):
        return self._read(task_queries.task, self.kernel, username, item_id)

    def task_form(self, item_id: int):
        return self._read(task_queries.task_form, self.kernel, item_id)

    # -- timers and incidents -----------------------------------------------------------------
    def due_instances(self, now: datetime, limit: int = 500) -> list[int]:
        return timers.due_instances(self.kernel, now, limit)

    def fire_timers(self, instance_id: int) -> bool:
        return timers.fire_timers(self.kernel, instance_id)

    def tick(self, now: datetime | None = None) -> int:
        return timers.tick(self.kernel, now)

    def retry_incident(self, incident_id: int, actor: str, to_latest: bool = False, source: str = "cli"):
        """A person retries now (optionally on the newest deployed version of the process); returns the incident."""
        incident_commands.retry_incident(self.kernel, incident_id, actor, to_latest, source)
        return self.incident(incident_id)

    def incidents(self, status: str | None = "open", loan_ref: str | None = None, limit: int = 200) -> list:
        return self._read(incident_queries.listing, status, loan_ref, limit)

    def incident(self, incident_id: int):
        return self._read(incident_queries.incident, incident_id)

    def doctor(self):
        """Running instances that wait for nothing, and open tasks that nobody may perform."""
        with self.db.reading() as session:
            return doctor.DoctorReport(doctor.stuck_instances(session), doctor.unserved_tasks(session, self.gate))

    # -- people -------------------------------------------------------------------------------
    def add_user(self, username: str, password: str | None, display_name: str = "", actor: str | None = None,
                 source: str = "cli") -> None:
        with self.command(source, "add_user") as unit:
            people.add_user(unit, username, password, display_name, actor)

    def add_people(self, staff, password: str | None, actor: str | None = None, source: str = "cli") -> list[str]:
        with self.command(source, "add_people") as unit:
            return people.add_people(unit, staff, password, actor)

    def grant_role(self, username: str, role: str, branch: str | None = None, limit: Decimal | None = None,
                   valid_from=None, valid_to=None, actor: str | None = None, source: str = "cli") -> list:
        with self.command(source, "grant_role") as unit:
            return people.grant_role(unit, username, role, branch, limit, valid_from, valid_to, actor)

    def record_leave(self, username: str, starts_on, ends_on, actor: str | None = None, source: str = "cli") -> None:
        with self.command(source, "record_leave") as unit:
            people.record_leave(unit, username, starts_on, ends_on, actor)

    def delegate(self, principal: str, stand_in: str, starts_on, ends_on, actor: str | None = None,
                 source: str = "cli") -> None:
        with self.command(source, "delegate") as unit:
            people.delegate(unit, principal, stand_in, starts_on, ends_on, actor)

    def lift_origination_block(self, username: str, actor: str, reason: str, source: str = "cli") -> None:
        with self.command(source, "lift_origination_block") as unit:
            blocks.lift_origination_block(unit, username, actor, reason)

    def user(self, username: str):
        return self._read(people_queries.user, self.kernel, username)

    def usernames(self) -> list[str]:
        return self._read(people_queries.usernames)

    def users_with_role(self, role: str, branch: str | None = None) -> list[str]:
        return self._read(people_queries.users_with_role, role, branch)

    def people_to_pick(self, role: str, branch: str | None = None) -> list[tuple[str, str, int]]:
        return self._read(people_queries.people_to_pick, role, branch)

    def leave_report(self, year: int | None = None):
        """Who in a sensitive role has had the policy's consecutive business days of mandatory leave (强制休假)."""
        from engine.queries import leave  # imported here so this block stays one piece of the file

        return self._read(leave.leave_report, self.kernel, year)

    # -- sessions and tokens ------------------------------------------------------------------
    def sign_in(self, username: str, password: str, source: str = "web", free_attempts: int = 3,
                max_lock_seconds: int = 900):
        return sessions.sign_in(self.kernel, username, password, source, free_attempts, max_lock_seconds)

    def sign_out(self, username: str, source: str = "web") -> None:
        with self.command(source, "sign_out") as unit:
            sessions.sign_out(unit, username)

    def issue_token(self, username: str, actor: str | None = None, source: str = "cli") -> str:
        with self.command(source, "issue_token") as unit:
            return sessions.issue_token(unit, username, actor)

    def revoke_token(self, token_id: int, actor: str | None = None, source: str = "cli") -> None:
        with self.command(source, "revoke_token") as unit:
            sessions.revoke_token(unit, token_id, actor)

    def user_for_token(self, token: str):
        return self._read(people_queries.user_with_token, self.kernel, token)

    def tokens(self, username: str) -> list[tuple[int, datetime, datetime | None, bool]]:
        return self._read(people_queries.tokens, username)

    def count_events(self, action: str, since: datetime | None = None) -> int:
        return self._read(count_events, EventFilter(action=action, since=since))

    def count_rule_reviews(self, since: datetime | None = None) -> int:
        """Classification reviews opened by rule (a floor crossed, a periodic review, a pulled loan), since a time."""
        return self._read(count_events, EventFilter(action="instance_started", actor=floors.RULE_ACTOR,
                                                    process_id="classification", since=since))

    def count(self, model) -> int:
        with self.db.reading() as session:
            return session.scalar(select(func.count()).select_from(model))

    # -- documents and drafts -----------------------------------------------------------------
    document_store_override = None  # a bank's own DocumentStore (e.g. an object store), set by the composition root

    @property
    def document_store(self):
        """Where attached files live: the plugged-in store, else a folder (`documents_path`, or instance/documents)."""
        from engine.store.files import FileStore

        if self.document_store_override is not None:
            return self.document_store_override
        settings = self.settings
        return FileStore(settings.documents_path or Path(settings.instance_path) / "documents")

    def attach_document(self, actor: str, kind: str, filename: str, data: bytes, loan_ref: str | None = None,
                        item_id: int | None = None, source: str = "web") -> int:
        """Attach a file to a task (`item_id`) or to the loan as a whole; returns the document's id."""
        from engine.commands import documents

        with self.command(source, "attach_document") as unit:
            return documents.attach(unit, self.document_store, actor, loan_ref, item_id, kind, filename, data,
                                    self.settings.document_max_bytes)

    def documents(self, loan_ref: str) -> list:
        from engine.queries import documents

        return self._read(documents.loan_documents, loan_ref)

    def checklist(self, item_id: int) -> tuple[list, list]:
        """A task's checklist (what is attached for each entry) and the documents attached on its step."""
        from engine.queries import documents

        return self._read(documents.checklist, self.kernel, item_id)

    def document_file(self, username: str, document_id: int, source: str = "web"):
        """(DocumentView, bytes) for someone who may read the loan; a refusal (another branch, a swapped file) is
        recorded on the audit trail."""
        from engine.errors import EngineError
        from engine.queries import documents

        try:
            return self._read(documents.document_file, self.kernel, self.document_store, username, document_id)
        except EngineError as err:
            if getattr(err, "audit_fields", None):
                self._record_refusal(source, err.audit_fields)
            raise

    def save_draft(self, actor: str, item_id: int, values: dict, source: str = "web") -> None:
        from engine.commands import drafts

        with self.command(source, "save_draft") as unit:
            drafts.save_draft(unit, actor, item_id, values)

    def draft(self, username: str, item_id: int):
        from engine.queries import documents

        return self._read(documents.draft, username, item_id)

    # -- notifications ------------------------------------------------------------------------
    def notifications(self, username: str, locale: str, limit: int = 50, unread_only: bool = False) -> list:
        """The user's notifications, newest first, with sentences in `locale`."""
        from engine.queries import notifications as notification_queries  # one block, merged as one piece

        return self._read(notification_queries.notifications, self.kernel, username, locale, limit, unread_only)

    def unread_notifications(self, username: str) -> int:
        from engine.queries import notifications as notification_queries

        return self._read(notification_queries.unread_count, username)

    def mark_notifications_read(self, username: str, notification_id: int | None = None, source: str = "web") -> int:
        """One notification (or, without an id, all of them) read; returns how many were unread."""
        from engine.commands import notifications

        with self.command(source, "mark_notifications_read") as unit:
            return notifications.mark_read(unit, username, notification_id)

    def send_notifications(self, limit: int = 100):
        """Send the due e-mails of the outbox (the worker calls this on every loop); returns a MailRun."""
        from engine.commands import mail

        return mail.send_pending(self.kernel, limit)

    def set_contact(self, username: str, email: str | None = None, locale: str | None = None,
                    actor: str | None = None, source: str = "cli") -> None:
        """Where a user's notification e-mails go and in which language."""
        with self.command(source, "set_contact") as unit:
            people.set_contact(unit, username, email, locale, actor)

    # -- accountability register (连带问责) --------------------------------------------------------------------
    def register_loans(self) -> list:
        """Every loan classified substandard or worse, or written off: class, outstanding, loss, findings."""
        from engine.queries import register  # one block, merged as one piece

        return self._read(register.register_loans)

    def loan_register(self, loan_ref: str):
        """Who signed, voted, reviewed, paid, inspected, decided on the loan, and the findings on it."""
        from engine.queries import register

        return self._read(register.loan_register, loan_ref)

    def export_register(self, fmt: str, loan_ref: str | None = None) -> tuple[bytes, str]:
        """The register (every loan, or one) as a CSV or JSON file and its SHA-256."""
        from engine.queries import register

        return register.export_register(self._read(register.full_register, loan_ref), fmt)

    def register_digests(self, formats, loan_ref: str | None = None) -> dict[str, str]:
        """The SHA-256 of each export format of the register as it would be downloaded now (read once for all)."""
        from engine.queries import register

        registers = self._read(register.full_register, loan_ref)
        return {fmt: register.export_register(registers, fmt)[1] for fmt in formats}

    def propose_finding(self, actor: str, loan_ref: str, finding: str, responsibility: list, sanction: str = "",
                        source: str = "web") -> int:
        from engine.commands import accountability

        with self.command(source, "propose_finding") as unit:
            return accountability.propose_finding(unit, actor, loan_ref, finding, responsibility, sanction)

    def decide_finding(self, actor: str, finding_id: int, decision: str, reason: str, source: str = "web") -> str:
        from engine.commands import accountability

        with self.command(source, "decide_finding") as unit:
            return accountability.decide_finding(unit, actor, finding_id, decision, reason)


__all__ = ["CreditEngine", "DeploymentRejected"]
