"""The service's collateral half: the items on a loan, and their release (解押) by two people after closure."""
from __future__ import annotations

from engine.commands import collateral as collateral_commands
from engine.errors import InvalidInput
from engine.queries import collateral as collateral_queries


class CollateralDesk:
    """Mixed into CreditEngine: one method per collateral command and query."""

    def collateral(self, loan_ref: str) -> list:
        """The loan's collateral items, oldest first."""
        return self._read(collateral_queries.collateral, loan_ref)

    def propose_release(self, actor: str, loan_ref: str, collateral_id: int, reason: str, source: str = "web") -> None:
        if not (reason or "").strip():
            raise InvalidInput("Give the reason for the release.", fields={"reason": "This field is required."})
        with self.command(source, "propose_release") as unit:
            collateral_commands.propose_release(unit, actor, loan_ref, int(collateral_id), reason.strip())

    def approve_release(self, actor: str, loan_ref: str, collateral_id: int, source: str = "web") -> None:
        with self.command(source, "approve_release") as unit:
            collateral_commands.approve_release(unit, actor, loan_ref, int(collateral_id))
