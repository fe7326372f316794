"""Nobody has to poll: each change that concerns a named person tells them, in the same transaction, and the
worker e-mails it once, in their language."""
from __future__ import annotations

import asyncio
import multiprocessing
import socket
from collections import Counter
from datetime import timedelta
from email import message_from_bytes
from email.header import decode_header, make_header

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from engine.commands.notifications import notify
from engine.audit.chain import AuditLog
from engine.store.models import Notification, Outbox, RoleGrant
from engine.views import MailRun
from tests.conftest import START

SUBJECT_PREFIX = "[creditflow]"


def kinds(engine, username: str) -> list[tuple[str, str | None]]:
    return [(n.kind, n.loan_ref) for n in reversed(engine.notifications(username, "en", limit=500))]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    """An SMTP server's handler that keeps what it received, or refuses every message with a temporary error."""

    def __init__(self, refuse: bool = False, delay: float = 0.0):
        self.refuse, self.delay, self.messages = refuse, delay, []

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.refuse:
            return "451 Requested action aborted: try again later"
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server():
    servers = []

    def start(**options):
        handler = Mailbox(**options)
        controller = Controller(handler, hostname="127.0.0.1", port=free_port())
        controller.start()
        servers.append(controller)
        return handler, controller.port

    yield start
    for controller in servers:
        controller.stop()


def mail_on(engine, port: int, **overrides) -> None:
    engine.settings = engine.settings.merged(smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False,
                                             smtp_from="creditflow@bank.example",
                                             public_base_url="https://credit.bank.example", **overrides)


def subject_of(message) -> str:
    return str(make_header(decode_header(message["Subject"])))


def body_of(message) -> str:
    return message.get_payload(decode=True).decode("utf-8")


def disbursed_loan(driver) -> str:
    ref = driver.start()
    driver.through_approval_dual(ref)
    driver.through_disbursement(ref)
    driver.do(ref, "assign_post_loan_manager", "plh_luo", post_loan_manager="plm_guo")
    return ref


def test_a_task_named_for_someone_tells_them(engine, driver):
    ref = driver.start()
    assert kinds(engine, "cm_wang") == [("task_assigned", ref)]  # the investigation is the originator's
    [note] = engine.notifications("cm_wang", "en")
    assert note.text == f"New task for you: Investigate borrower on loan {ref}." and note.unread
    assert note.link == f"/tasks/{driver.item(ref, 'investigate').id}"
    assert engine.notifications("cm_wang", "zh_CN")[0].text.startswith("您有新任务")
    driver.do(ref, "investigate", "cm_wang")
    assert kinds(engine, "rev_chen") == []  # a task offered to a whole lane names nobody
    driver.do(ref, "review", "rev_chen")
    assert kinds(engine, "cm_wang")[-1] == ("task_assigned", ref)  # the business signature is the originator's
    assert engine.unread_notifications("cm_wang") == 2


def test_a_reassigned_task_tells_the_new_holder_and_an_overdue_one_its_holder_and_the_branch_head(
        engine, driver, clock):
    ref = driver.start()
    item = driver.item(ref, "investigate")
    clock.set(item.due_at + timedelta(minutes=1))
    engine.tick()
    assert kinds(engine, "cm_wang")[-1] == ("task_overdue", ref)
    assert kinds(engine, "head_qian") == [("task_escalated", ref)]
    engine.tick()  # told once, not at every tick
    assert kinds(engine, "head_qian") == [("task_escalated", ref)]
    engine.reassign("head_qian", item.id, "cm_zhao", "cm_wang is on a training course", source="cli")
    [note] = engine.notifications("cm_zhao", "en")
    assert note.kind == "task_reassigned" and note.item_id == item.id
    assert note.text == (f"head_qian handed you the task Investigate borrower on loan {ref}: "
                         "cm_wang is on a training course")


def test_a_signature_up_the_authority_chain_tells_those_whose_limit_covers_it(engine, driver):
    with engine.db.transaction() as session:
        for grant in session.query(RoleGrant).filter(RoleGrant.role == "risk_manager", RoleGrant.branch == "BJ01"):
            grant.limit = 2_000_000
    engine.add_user("risk_ho", None, "总行风险经理")
    engine.grant_role("risk_ho", "risk_manager", "HO", limit=10_000_000)
    ref = driver.start(amount=2_500_000)
    driver.do(ref, "investigate", "cm_wang")
    driver.do(ref, "review", "rev_chen")
    driver.do(ref, "sign_business", "cm_wang")
    assert kinds(engine, "risk_ho") == [("task_routed_up", ref)]
    assert "2,500,000.00" in engine.notifications("risk_ho", "en")[0].text
    assert kinds(engine, "risk_liu") == []


def test_the_originator_hears_approval_rejection_and_withdrawal(engine, driver):
    approved = driver.start()
    driver.through_approval_dual(approved)
    rejected = driver.start(borrower="Rejected Co.")
    driver.do(rejected, "investigate", "cm_wang")
    driver.do(rejected, "review", "rev_chen", decision="reject", opinion="Repayment source unproven.")
    withdrawn = driver.start(borrower="Withdrawn Co.")
    driver.do(withdrawn, "investigate", "cm_wang", recommendation="withdraw")
    decided = [(k, r) for k, r in kinds(engine, "cm_wang") if k.startswith("loan_")]
    assert decided == [("loan_approved", approved), ("loan_rejected", rejected), ("loan_withdrawn", withdrawn)]
    texts = {n.kind: n.text for n in engine.notifications("cm_wang", "zh_CN")}
    assert "Rejected Co." in texts["loan_rejected"] and "否决" in texts["loan_rejected"]


def test_a_warning_tells_the_customer_manager_and_its_decision_goes_back_to_the_raiser(engine, driver):
    ref = disbursed_loan(driver)
    engine.raise_warning("plm_guo", ref, "The borrower's main customer stopped paying.", source="cli")
    [raised] = [n for n in engine.notifications("cm_wang", "en") if n.kind == "warning_raised"]
    assert raised.text == f"plm_guo raised a risk warning on your loan {ref}: The borrower's main customer stopped paying."
    assert raised.link == f"/loans/{ref}"
    driver.do(ref, "register_warning", "cro_gao", registered_level="level_1", notes="Registered.")
    driver.do(ref, "decide_warning", "cro_gao", warning_decision="level_2", measures=["extra_collateral"],
              decision_reason="Concentration risk.")
    for username in ("plm_guo", "cm_wang"):
        [decided] = [n for n in engine.notifications(username, "en") if n.kind == "warning_decided"]
        assert decided.text == (f"The risk warning on loan {ref} (The borrower's main customer stopped paying.) "
                                "was decided by cro_gao: confirmed at level 2 (moderate).")
    assert "二级" in [n for n in engine.notifications("plm_guo", "zh_CN") if n.kind == "warning_decided"][0].text


def test_a_blocked_manager_hears_of_the_block_and_of_its_lifting(engine, driver, clock):
    engine.grant_role("plm_guo", "customer_manager", "BJ01")
    ref = disbursed_loan(driver)
    for _round in range(2):
        clock.advance(days=93 if _round else 16)
        engine.tick()
        clock.advance(days=11)
        engine.tick()
        driver.do(ref, "lead_inspection", "plm_guo")
        driver.do(ref, "assist_inspection", "cm_wang")
        driver.do(ref, "review_inspection_report", "plh_luo")
    engine.lift_origination_block("plm_guo", "plh_luo", "Both inspections done late; manager retrained.")
    mine = kinds(engine, "plm_guo")
    assert ("origination_blocked", ref) in mine and mine.index(("origination_blocked", ref)) < \
        mine.index(("origination_unblocked", None))
    unblocked = [n for n in engine.notifications("plm_guo", "en") if n.kind == "origination_unblocked"][0]
    assert unblocked.text == "plh_luo lifted your origination block; you may originate loans again."


def test_a_change_that_rolls_back_tells_nobody(engine, driver, smtp_server, monkeypatch):
    _handler, port = smtp_server()
    mail_on(engine, port)
    engine.set_contact("cm_wang", "wang@bank.example", "zh_CN")
    with pytest.raises(RuntimeError):
        with engine.command("cli") as unit:
            notify(unit, "cm_wang", "origination_unblocked", by="plh_luo")
            raise RuntimeError("the command fails after notifying")
    with monkeypatch.context() as patch:  # a real command that fails at its very end, after it told cm_wang
        patch.setattr(AuditLog, "write", lambda self: (_ for _ in ()).throw(RuntimeError("disk full")))
        with pytest.raises(RuntimeError):
            driver.start()
    assert engine.open_loans() == []
    with engine.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(Notification)) == 0
        assert session.scalar(select(func.count()).select_from(Outbox)) == 0


def test_read_marks_one_or_all_and_only_ones_own(engine, driver):
    first, second = driver.start(), driver.start(borrower="Second Co.")
    notes = engine.notifications("cm_wang", "en")
    assert [n.loan_ref for n in notes] == [second, first]  # newest first
    assert engine.mark_notifications_read("cm_wang", notes[1].id) == 1
    assert engine.unread_notifications("cm_wang") == 1
    with pytest.raises(Exception) as refused:
        engine.mark_notifications_read("cm_li", notes[0].id)
    assert refused.value.code == "not_found"
    assert engine.mark_notifications_read("cm_wang") == 1 and engine.unread_notifications("cm_wang") == 0


def test_the_worker_mails_the_outbox_in_the_recipients_language(engine, driver, smtp_server):
    handler, port = smtp_server()
    mail_on(engine, port)
    engine.set_contact("cm_wang", "wang@bank.example", "zh_CN")
    engine.set_contact("head_qian", "qian@bank.example", "en")
    ref = driver.start()
    assert engine.send_notifications().sent == 1
    [(rcpt, message)] = handler.messages
    assert rcpt == ["wang@bank.example"] and message["To"] == "wang@bank.example"
    assert subject_of(message) == f"{SUBJECT_PREFIX} {ref} 新任务"
    item = driver.item(ref, "investigate")
    assert ref in body_of(message) and f"https://credit.bank.example/tasks/{item.id}" in body_of(message)
    assert engine.send_notifications().sent == 0  # sent once
    engine.clock.set(item.due_at + timedelta(minutes=1))
    engine.tick()
    assert engine.send_notifications().sent == 2  # overdue to cm_wang, escalated to head_qian
    english = [m for r, m in handler.messages if r == ["qian@bank.example"]][0]
    assert subject_of(english) == f"{SUBJECT_PREFIX} {ref} Task escalated to you"
    assert "is overdue and was escalated to your list" in body_of(english)


def test_without_an_address_or_with_e_mail_off_the_notice_stays_in_app(engine, driver, smtp_server):
    ref = driver.start()  # e-mail off by default
    mail_on(engine, smtp_server()[1])
    driver.start(borrower="No Address Co.")  # e-mail on, cm_wang has no address
    with engine.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(Outbox)) == 0
    assert len(engine.notifications("cm_wang", "en")) == 2 and ref


def test_a_failing_smtp_server_leaves_the_mail_pending_with_backoff_then_failed(engine, driver, clock, smtp_server):
    handler, port = smtp_server(refuse=True)
    mail_on(engine, port, mail_max_attempts=3, mail_backoff_seconds=60)
    engine.set_contact("cm_wang", "wang@bank.example", "en")
    driver.start()

    def row():
        with engine.db.reading() as session:
            outbox = session.scalars(select(Outbox)).one()
            session.expunge(outbox)
            return outbox

    assert engine.send_notifications().retrying == 1
    first = row()
    assert (first.status, first.attempts) == ("pending", 1) and "451" in first.last_error
    assert first.next_attempt_at == clock.now() + timedelta(seconds=60)
    assert engine.send_notifications().retrying == 0  # not due yet
    clock.advance(seconds=61)
    assert engine.send_notifications().retrying == 1
    assert row().next_attempt_at == clock.now() + timedelta(seconds=120)  # the wait doubles
    clock.advance(seconds=121)
    assert engine.send_notifications().failed == 1
    last = row()
    assert (last.status, last.attempts, last.next_attempt_at) == ("failed", 3, None)
    clock.advance(days=1)
    assert engine.send_notifications() == MailRun()  # a failed e-mail is left alone
    assert handler.messages == []


def _send_all(database_url: str, port: int, barrier, results) -> None:
    """One worker process: its own engine, sending until the outbox has nothing due."""
    from engine.bootstrap import build_engine
    from engine.clock import ManualClock

    engine = build_engine(database_url, clock=ManualClock(START + timedelta(minutes=5)))
    mail_on(engine, port)
    barrier.wait()
    sent = 0
    while True:
        run = engine.send_notifications(limit=5)
        sent += run.sent
        if run.sent == 0:
            break
    engine.db.dispose()
    results.put(sent)


@pytest.mark.postgres
def test_two_workers_never_send_one_notification_twice(engine, driver, database_url, smtp_server):
    if not engine.db.is_postgres:
        pytest.skip("several senders are a PostgreSQL deployment; SQLite has one writer")
    handler, port = smtp_server(delay=0.02)
    mail_on(engine, port)
    engine.set_contact("cm_wang", "wang@bank.example", "en")
    refs = [driver.start(borrower=f"Borrower {n} Co.") for n in range(24)]
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    workers = [context.Process(target=_send_all, args=(database_url, port, barrier, results)) for _ in range(2)]
    for process in workers:
        process.start()
    counts = [results.get(timeout=120) for _ in workers]
    for process in workers:
        process.join(timeout=30)
    ids = Counter(m["Message-ID"] for _rcpt, m in handler.messages)
    assert len(ids) == len(refs) and set(ids.values()) == {1}
    assert sum(counts) == len(refs)
    with engine.db.reading() as session:
        assert set(session.scalars(select(Outbox.status))) == {"sent"}


def test_operators_set_contacts_and_send_the_outbox_from_the_command_line(engine, driver, database_url,
                                                                         smtp_server):
    from click.testing import CliRunner

    from engine.cli import main

    def cli(*args, **env):
        return CliRunner().invoke(main, ["--database", database_url, *args], env={"CREDITFLOW_LANG": "en", **env})

    off = cli("notifications", "send")
    assert off.exit_code == 0 and "E-mail is off" in off.output
    saved = cli("users", "contact", "cm_wang", "--email", "wang@bank.example", "--locale", "zh_CN")
    assert saved.exit_code == 0 and "Contact details of cm_wang saved." in saved.output
    bad = cli("users", "contact", "cm_wang", "--email", "wang at bank")
    assert bad.exit_code == 1 and "'wang at bank' is not an e-mail address." in bad.output
    handler, port = smtp_server()
    mail_on(engine, port)
    ref = driver.start()
    sent = cli("notifications", "send", CREDITFLOW_LANG="zh_CN", CREDITFLOW_SMTP_HOST="127.0.0.1",
               CREDITFLOW_SMTP_PORT=str(port), CREDITFLOW_SMTP_STARTTLS="false")
    assert sent.exit_code == 0 and "已发送 1 封邮件，0 封稍后重试，0 封最终发送失败。" in sent.output
    [(rcpt, message)] = handler.messages
    assert rcpt == ["wang@bank.example"] and ref in subject_of(message)
