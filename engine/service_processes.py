"""The process designers' side of the service API: validation and lint, deployment, process changes through four
eyes, the policy they may carry, the process library and its diffs, migration of running loans, what-if replay.
A mixin of `CreditEngine` (engine/service.py): it uses the same kernel, database and units of work."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from policies.loader import parse_policy

from engine.commands import changes as change_commands, deployment, policy_versions
from engine.errors import EngineError, NotAllowed
from engine.queries import changes as change_queries, processes
from engine.replay import runner as replay_runner
from engine.runtime.specs import collect_files
from engine.runtime.validation import DeploymentRejected, validate_files
from engine.store.lookups import newest_files
from engine.views import DeployResult, ReplayReport


class ProcessStudio:
    """Methods for processes and their changes; `CreditEngine` provides `kernel`, `db`, `_read` and `command`."""

    # -- processes ----------------------------------------------------------------------------
    def validate(self, paths) -> list:
        _bundle, problems = validate_files(collect_files(paths), self.kernel.policy)
        return problems

    def check(self, paths) -> list:
        """Validation problems, then lint findings (warnings; errors where a loan would stall), for files on disk."""
        return self._check(collect_files(paths), self.kernel.policy)

    def _check(self, sources, policy) -> list:
        from engine.queries.staff import staff
        from engine.runtime.lint import lint

        bundle, problems = validate_files(sources, policy)
        if bundle is None:
            return problems
        try:
            people = self._read(staff, self.kernel)
        except (EngineError, SQLAlchemyError):  # no database yet: the checks that count people are skipped
            people = None
        refused = {p.element for p in problems if p.element}  # said once: validation already refuses the element
        return problems + [f for f in lint(bundle, policy, people)
                           if not (f.rule == "nobody-can-perform" and f.element in refused)]

    def untranslated(self, paths) -> list:
        """Names and instructions the English catalogs beside the diagrams lack (warnings; deploying still works)."""
        from engine.runtime.validation import untranslated

        return untranslated(collect_files(paths))

    def deploy(self, paths, actor: str | None = None, source: str = "cli",
               approved_by: str | None = None) -> list[DeployResult]:
        return deployment.deploy(self.kernel, collect_files(paths), actor, approved_by, source)

    # -- changes: four eyes on every redesign -------------------------------------------------
    def current_files(self) -> dict[str, str]:
        """Every file of the newest version of every process: what a change is laid over."""
        return self._read(newest_files)

    def check_files(self, files: dict[str, str], policy_text: str | None = None) -> list:
        """Validation errors, then lint findings, for a whole candidate file set, under the candidate policy when
        one is given (nothing is stored)."""
        policy = self.kernel.policy
        if policy_text:
            with self.db.reading() as session:
                policy, problems = policy_versions.candidate(policy_text, self.kernel.policy, session)
            if policy is None:
                return problems
        return self._check(change_commands.source_files(files), policy)

    def current_policy_text(self) -> str | None:
        """The YAML of the policy in use (what a change edits)."""
        return self._read(lambda session: policy_versions.current_text(self.kernel, session))

    def save_change(self, username: str, files: dict[str, str], note: str = "", change_id: int | None = None,
                    source: str = "web", policy_text: str | None = None):
        with self.command(source, "save_change") as unit:
            row = change_commands.save_change(unit, username, files, note, change_id, policy_text)
            change_id = row.id
        return self.change(username, change_id)

    def submit_change(self, username: str, change_id: int, source: str = "web"):
        """Submitted for approval, then replayed against the newest recorded loans for the approver to read."""
        with self.command(source, "submit_change") as unit:
            change_commands.submit_change(unit, username, change_id, self.check_files)
        self._replay_change(change_id, source)
        return self.change(username, change_id)

    def replay_change(self, username: str, change_id: int, source: str = "web"):
        """Replay a change again (the loans and the deployed versions may have moved since)."""
        user = self.user(username)
        if not (user.has_role("process_designer") or user.has_role("auditor")):
            raise NotAllowed("Only process designers and auditors may replay a process change.")
        self._replay_change(change_id, source)
        return self.change(username, change_id)

    def _replay_change(self, change_id: int, source: str) -> None:
        from engine.replay.summary import as_record
        from policies import PolicyFormatError

        with self.db.reading() as session:
            row = change_queries.stored(session, change_id)
            files, policy_text = dict(row.files or {}), row.policy_text
        limit = max(1, self.settings.replay_loans)
        try:
            record = as_record(self.replay(files, policy_text, limit=limit, budget=self.settings.replay_seconds),
                               limit)
        except (DeploymentRejected, PolicyFormatError) as exc:
            record = {"error": str(exc).splitlines()[0]}
        with self.command(source, "replay_change") as unit:
            change_commands.record_replay(unit, change_id, record)

    def withdraw_change(self, username: str, change_id: int, source: str = "web"):
        with self.command(source, "withdraw_change") as unit:
            change_commands.withdraw_change(unit, username, change_id)
        return self.change(username, change_id)

    def decide_change(self, username: str, change_id: int, approve: bool, reason: str = "", source: str = "web"):
        with self.command(source, "decide_change") as unit:
            change_commands.decide_change(unit, username, change_id, approve, reason)
        policy_versions.load_newest(self.kernel)  # an approved policy applies from the next command on
        return self.change(username, change_id)

    def change(self, username: str, change_id: int):
        return self._read(change_queries.change, change_id, self.check_files)

    def changes(self, username: str, status: str | None = None) -> list:
        return self._read(change_queries.changes, status)

    def running_instances(self, process_id: str):
        """(the process's version numbers, its running instances with the steps they are at)."""
        from engine.queries.running import running_instances
        return self._read(running_instances, process_id)

    def migrate_loans(self, actor: str, process_id: str, version: int, loan_refs: list[str], reason: str,
                      source: str = "web") -> list:
        """Move chosen loans' running instances to another version where it is safe; one outcome per loan."""
        from engine.commands.migration import migrate_loans
        return migrate_loans(self.kernel, actor, process_id, version, loan_refs, reason, source)

    def replay(self, candidate_files: dict[str, str], policy_text: str | None = None, limit: int | None = None,
               progress=None, budget: float | None = None) -> ReplayReport:
        """What a candidate (files merged over the deployed ones, and optionally a policy YAML) would have done to
        the recorded loans; read-only. Raises DeploymentRejected (files) or PolicyFormatError (policy text)."""
        policy = parse_policy(policy_text, "<candidate policy>") if policy_text else None
        return replay_runner.replay(self.kernel, candidate_files, policy, limit, progress, budget)

    def deployed(self) -> list[tuple[str, int, datetime]]:
        return self._read(processes.deployed)

    def process_files(self, version_id: int) -> dict[str, str]:
        return self._read(processes.process_files, version_id)

    def duties_in_use(self) -> dict[str, set[str]]:
        return self._read(processes.duties_in_use, self.kernel)

    def policy_problems(self) -> list[str]:
        return self._read(processes.policy_problems, self.kernel)

    def process_library(self) -> list:
        """Every deployed process with its versions (designer, approver, deployed at, instances still running)."""
        return self._read(processes.library)

    def process_version(self, process_id: str, version: int):
        return self._read(processes.version_entry, process_id, version)

    def version_files(self, process_id: str, version: int) -> dict[str, str]:
        return self._read(processes.version_files, process_id, version)

    def version_steps(self, process_id: str, version: int) -> list:
        """The user tasks of one version with their lane, duty, form and due time."""
        return self._read(processes.version_steps, self.kernel, process_id, version)

    @staticmethod
    def diff_files(old: dict[str, str], new: dict[str, str]) -> list:
        """What changes from one file set to the other, as DifferenceViews (sentences in gettext templates)."""
        from engine.queries import comparison

        return comparison.changes(old, new)

    def diff_versions(self, process_id: str, a: int, b: int) -> list:
        return self.diff_files(self.version_files(process_id, a), self.version_files(process_id, b))

    @staticmethod
    def compare_files(old: dict[str, str], new: dict[str, str], locale: str | None = None):
        """The changes and, for every BPMN file concerned, both diagrams with the changed elements to mark."""
        from engine.queries import comparison

        return comparison.comparison(old, new, locale)

    def compare_versions(self, process_id: str, a: int, b: int, locale: str | None = None):
        """Two versions of one process: its diagram is drawn on both sides even when only a form or table changed."""
        from engine.queries import comparison

        old, new = self.version_files(process_id, a), self.version_files(process_id, b)
        return comparison.comparison(old, new, locale, tuple(n for n in {**old, **new} if n.endswith(".bpmn")))

    def step_texts(self, locale: str | None):
        """Names of steps and processes, and the diagrams, in the reader's language (one per request)."""
        from engine.queries.texts import StepTexts, version_refs

        return StepTexts(self._read(version_refs), self.kernel.texts, self.process_files, locale)

