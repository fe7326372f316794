"""The candidate a replay runs: its files merged over the working set, validated, each process parsed once."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from engine.runtime.parser import SourceFile
from engine.runtime.specs import LoadedProcess, load_process, prepare_deployment, sha256_of
from engine.store.lookups import newest_files


@dataclass
class Candidate:
    """Parsed processes of the candidate by process id, and the policy the replay asks."""

    processes: dict[str, LoadedProcess]
    policy: object
    starters: dict[str, str] = field(default_factory=dict)  # start message -> process id

    def process(self, process_id: str) -> LoadedProcess | None:
        return self.processes.get(process_id)


def load_candidate(session: Session, candidate_files: dict[str, str], policy) -> Candidate:
    """Validate the candidate as a deployment would (raises DeploymentRejected) and parse each process once."""
    files = {**newest_files(session), **candidate_files}
    sources = [SourceFile(name, text.encode("utf-8")) for name, text in sorted(files.items())]
    bundles = prepare_deployment(sources, policy)
    processes = {pid: load_process(pid, sha256_of(bundle), bundle) for pid, bundle in bundles.items()}
    starters = {loaded.start_message: pid for pid, loaded in processes.items() if loaded.start_message}
    return Candidate(processes, policy, starters)
