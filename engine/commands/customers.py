"""Borrowers as customers: one customer file per unified identifier, optionally in a group (集团客户); the exposure
that chooses the approval tier is computed from the loans of the group, never typed."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from engine.commands.unit import Unit
from engine.identifiers import customer_kind
from engine.store.models import Customer, CustomerGroup, Loan

# Loans that no longer count towards an exposure.
ENDED = ("rejected", "withdrawn", "closed", "settled")


def customer_for(unit: Unit, values: dict, actor: str) -> Customer | None:
    """The customer the application names by its identifier (created on first use, put in its group)."""
    identifier = values.get("borrower_id")
    if not identifier:
        return None
    session = unit.session
    customer = session.scalar(select(Customer).where(Customer.identifier == identifier))
    if customer is None:
        customer = Customer(identifier=identifier, kind=customer_kind(identifier), name=values["borrower"],
                            created_at=unit.clock.now())
        session.add(customer)
        session.flush()
        unit.audit.record("customer_added", actor=actor, detail={"identifier": identifier, "name": customer.name})
    group_code = values.get("group_identifier")
    if group_code:
        group = session.scalar(select(CustomerGroup).where(CustomerGroup.identifier == group_code))
        if group is None:
            group = CustomerGroup(identifier=group_code, name=values.get("group_name") or group_code)
            session.add(group)
            session.flush()
        if customer.group_id != group.id:
            unit.audit.record("customer_grouped", actor=actor, detail={
                "identifier": identifier, "group": group_code, "before": customer.group_id, "after": group.id})
            customer.group_id = group.id
    return customer


def exposure(unit: Unit, amount: Decimal, customer: Customer | None, replacing: int | None = None) -> Decimal:
    """This application plus every approved or pending amount of the customer's group (or the customer alone); a
    loan the application refinances or restructures (`replacing`) is not counted twice."""
    if customer is None:
        return Decimal(str(amount))
    members = select(Customer.id).where(Customer.group_id == customer.group_id) if customer.group_id \
        else select(Customer.id).where(Customer.id == customer.id)
    counted = select(func.coalesce(func.sum(func.coalesce(Loan.approved_amount, Loan.amount)), 0)).where(
        Loan.customer_id.in_(members), Loan.status.not_in(ENDED))
    if replacing is not None:
        counted = counted.where(Loan.id != replacing)
    others = unit.session.scalar(counted)
    return Decimal(str(amount)) + Decimal(str(others))
