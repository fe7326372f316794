"""The candidate a replay runs: its files merged over the working set, validated, each process parsed once."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.roles import NON_LANE_ROLES
from engine.runtime.parser import SourceFile
from engine.runtime.specs import LoadedProcess, load_process, prepare_deployment, sha256_of
from engine.store.models import ProcessVersion


@dataclass
class Candidate:
    """Parsed processes of the candidate by process id, and the policy the replay asks."""

    processes: dict[str, LoadedProcess]
    policy: object
    starters: dict[str, str] = field(default_factory=dict)  # start message -> process id

    def process(self, process_id: str) -> LoadedProcess | None:
        return self.processes.get(process_id)


def working_set(session: Session) -> dict[str, str]:
    """Every file of the newest deployed version of every process, name -> text."""
    newest = select(ProcessVersion.process_id, func.max(ProcessVersion.version).label("version")) \
        .group_by(ProcessVersion.process_id).subquery()
    rows = session.scalars(select(ProcessVersion).join(newest, (ProcessVersion.process_id == newest.c.process_id)
                                                       & (ProcessVersion.version == newest.c.version))).all()
    files: dict[str, str] = {}
    for row in sorted(rows, key=lambda r: r.process_id):
        files.update(row.files or {})
    return files


def load_candidate(session: Session, candidate_files: dict[str, str], policy) -> Candidate:
    """Validate the candidate as a deployment would (raises DeploymentRejected) and parse each process once."""
    files = {**working_set(session), **candidate_files}
    sources = [SourceFile(name, text.encode("utf-8")) for name, text in sorted(files.items())]
    bundles = prepare_deployment(sources, set(policy.roles) - NON_LANE_ROLES)
    processes = {pid: load_process(pid, sha256_of(bundle), bundle) for pid, bundle in bundles.items()}
    starters = {loaded.start_message: pid for pid, loaded in processes.items() if loaded.start_message}
    return Candidate(processes, policy, starters)
