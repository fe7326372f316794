"""`replay`: the recorded loans through a candidate version and policy, in a read-only session; nothing is written."""
from __future__ import annotations

import time

from engine.clock import ManualClock
from engine.kernel import Kernel
from engine.replay.candidate import load_candidate
from engine.replay.checks import Staff
from engine.replay.history import histories, recorded_loans
from engine.replay.player import Player
from engine.replay.summary import loan_replay, report
from engine.views import ReplayReport


def replay(kernel, candidate_files: dict[str, str], policy=None, limit: int | None = None,
           progress=None, budget: float | None = None) -> ReplayReport:
    """What the candidate files (merged over the deployed working set) and `policy` (default: the current one)
    would have done to the recorded loans (the newest `limit` of them; newest first, until `budget` seconds are
    spent). Raises DeploymentRejected when the candidate would not deploy. `progress(done, total)` is called after
    each loan."""
    started = time.perf_counter()
    policy = policy or kernel.policy
    with kernel.db.reading() as session:
        candidate = load_candidate(session, candidate_files, policy)
        replay_kernel = Kernel(None, ManualClock(kernel.clock.now()), policy, settings=kernel.settings)
        player = Player(replay_kernel, kernel.policy, candidate, Staff(session),
                        lambda instance: kernel.workflows.loaded(instance.process_version))
        loans = recorded_loans(session, limit)
        differing, done = [], 0
        for done, history in enumerate(histories(session, loans), start=1):
            found = loan_replay(player.play(history))
            if found is not None:
                differing.append(found)
            if progress is not None:
                progress(done, len(loans))
            if budget is not None and time.perf_counter() - started > budget:
                break
    return report(done, differing, time.perf_counter() - started, candidate.processes)
