"""CreditEngine's trail-integrity half (a mixin): verifications the auditor runs and sees, the alarm the audit pages
raise while the chain is broken, and the worker's signed checkpoints."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.audit import integrity
from engine.audit.signing import fingerprint, load_private_key, load_public_key
from engine.commands import verification
from engine.errors import InvalidInput
from engine.settings import ConfigurationError, checkpoint_interval


@dataclass(frozen=True)
class IntegrityStatus:
    """What the integrity page shows: the newest checkpoint, the newest result and the history of verifications."""

    checkpoint: integrity.CheckpointView | None
    signed_checkpoint: integrity.CheckpointView | None
    latest: integrity.VerificationView | None
    history: list
    key_fingerprint: str | None   # of the public key signatures are checked against (None: not configured)
    signing: bool                 # this process signs the checkpoints it records
    key_problem: InvalidInput | None = None  # a configured key that cannot be used (template and params)


def _key(load, path):
    """A configured key, or a refusal naming the file and what is wrong with it (shown, never a traceback)."""
    try:
        return load(path)
    except ConfigurationError as exc:
        raise InvalidInput("The checkpoint key cannot be used: %(problem)s", problem=str(exc)) from None


class TrailIntegrity:
    """Needs `db`, `clock`, `settings` and `command` from CreditEngine."""

    def checkpoint_signing_key(self):
        """The bank's private key (CREDITFLOW_CHECKPOINT_KEY), or None when this process does not sign."""
        path = self.settings.checkpoint_key
        return _key(load_private_key, path) if path else None

    def checkpoint_public_key(self):
        """The key signed checkpoints are checked against: CREDITFLOW_CHECKPOINT_PUBLIC_KEY, else the signing
        key's public half, else None."""
        path = self.settings.checkpoint_public_key or self.settings.checkpoint_key
        return _key(load_public_key, path) if path else None

    def verify_audit_trail(self, actor: str | None, mode: str = "incremental", source: str = "web"):
        """Verify (read-only, possibly long), then record the result, its checkpoint and its audit event."""
        if mode not in integrity.MODES:
            raise InvalidInput("Choose an incremental or a full verification.")
        public_key, signing_key = self.checkpoint_public_key(), self.checkpoint_signing_key()
        with self.db.reading() as session:
            check = integrity.check_trail(session, mode, public_key)
        with self.command(source, "verify_audit_trail") as unit:
            return verification.record_verification(unit, actor, check, signing_key)

    def chain_alarm(self) -> integrity.VerificationView | None:
        """The newest verification when it found the trail broken (every audit page shows it), else None."""
        with self.db.reading() as session:
            latest = integrity.latest_verification(session)
        return latest if latest is not None and not latest.intact else None

    def integrity_status(self, history: int = 30) -> IntegrityStatus:
        try:
            public_key, problem = self.checkpoint_public_key(), None
        except InvalidInput as exc:
            public_key, problem = None, exc
        with self.db.reading() as session:
            rows = integrity.verifications(session, history)
            return IntegrityStatus(integrity.newest_checkpoint(session),
                                   integrity.newest_checkpoint(session, signed_only=True),
                                   rows[0] if rows else None, rows,
                                   fingerprint(public_key) if public_key is not None else None,
                                   bool(self.settings.checkpoint_key), problem)

    def export_checkpoint_if_due(self) -> dict | None:
        """For the worker: a signed checkpoint appended to the checkpoint file when CREDITFLOW_CHECKPOINT_EVERY has
        passed since the newest signed one (None when not configured or not due)."""
        interval = checkpoint_interval(self.settings)
        if interval is None:
            return None
        signing_key = self.checkpoint_signing_key()
        if signing_key is None:
            raise InvalidInput("CREDITFLOW_CHECKPOINT_EVERY is set but CREDITFLOW_CHECKPOINT_KEY is not: the worker "
                               "has no key to sign checkpoints with.")
        directory = self.settings.checkpoint_dir or str(Path(self.settings.instance_path) / "checkpoints")
        with self.command("timer", "export_checkpoint") as unit:
            if not verification.checkpoint_due(unit, interval):
                return None
            return verification.export_signed_checkpoint(unit, signing_key, directory)
