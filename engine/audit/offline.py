"""Verifying an exported trail without the database: the exported events' own chain, held to checkpoints the bank
signed, checked under the public key the verifier brings. Reads files only; trusts nothing the database says."""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from engine.audit.chain import GENESIS, event_hash
from engine.audit.integrity import Finding
from engine.audit.signing import refusal


class UnreadableFile(ValueError):
    """An export or checkpoint file that is not JSON (a list, or one object a line)."""


def read_records(path: str | Path) -> Iterator[dict]:
    """The objects of a JSON list, or of a JSON-lines file (one object a line), in file order."""
    try:
        with open(path, encoding="utf-8") as handle:
            first = handle.read(1)
            while first.isspace():
                first = handle.read(1)
            handle.seek(0)
            if first == "[":
                items = json.load(handle)
                yield from items
                return
            for line in handle:
                if line.strip():
                    yield json.loads(line)
    except OSError as exc:
        raise UnreadableFile(f"{path}: {exc.strerror}") from None
    except ValueError as exc:
        raise UnreadableFile(f"{path}: not JSON: {exc}") from None


@dataclass
class OfflineReport:
    checked: int = 0
    last_event_id: int = 0
    refused: list[tuple[dict, str, dict]] = field(default_factory=list)  # (checkpoint, reason code, params)
    accepted: list[dict] = field(default_factory=list)                    # checkpoints signed by the given key
    finding: Finding | None = None                                        # the first bad event, chain or checkpoint
    failed_checkpoint: dict | None = None                                 # the checkpoint the finding is about

    @property
    def intact(self) -> bool:
        return self.finding is None and not self.refused and bool(self.accepted)


def verify_offline(events: Iterable[dict], checkpoints: Iterable[dict], public_key) -> OfflineReport:
    """Each checkpoint's signature under `public_key` (unsigned, another key's or altered ones are refused), then
    the events' chain from the first event, then every accepted checkpoint's head hash at its event id (and the
    number of events up to it); a checkpoint beyond the last exported event means the tail was cut."""
    report = OfflineReport()
    for point in checkpoints:
        refused = refusal(point, public_key)
        if refused:
            report.refused.append((point, *refused))
        else:
            report.accepted.append(point)
    by_event: dict[int, list[dict]] = {}
    for point in report.accepted:
        by_event.setdefault(int(point["event_id"]), []).append(point)
    findings: list[tuple[Finding, dict | None]] = []
    prev, seen = GENESIS, set()
    for event in events:
        event_id = int(event.get("id") or 0)
        if event.get("prev_hash") != prev:
            findings.append((Finding(event_id, "unlinked"), None))
            break
        if event_hash(prev, event) != event.get("hash"):
            findings.append((Finding(event_id, "edited"), None))
            break
        prev = event["hash"]
        report.checked += 1
        report.last_event_id = event_id
        seen.add(event_id)
        for point in by_event.get(event_id, ()):
            if point["head_hash"] != prev:
                findings.append((Finding(event_id, "rewritten"), point))
            elif point.get("events") is not None and int(point["events"]) != report.checked:
                findings.append((Finding(event_id, "count", {"found": report.checked, "counted": point["events"]}),
                                 point))
    broken_at = next((f.event_id for f, point in findings if point is None), None)  # the walk stopped there
    for event_id, points in by_event.items():
        if event_id > 0 and event_id not in seen and (broken_at is None or event_id < broken_at):
            findings.extend((Finding(event_id, "missing"), point) for point in points)
    if findings:
        report.finding, report.failed_checkpoint = min(findings, key=lambda pair: pair[0].event_id)
    return report
