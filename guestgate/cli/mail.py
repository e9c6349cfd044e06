"""Mail commands: the outbox worker, the outbox itself, and a settings check."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import uuid
from dataclasses import asdict

from guestgate.adapters.mail.render import build
from guestgate.bootstrap import build_runtime, configure_process, mail_sender, mail_transport
from guestgate.cli.directory import run
from guestgate.cli.output import emit
from guestgate.config import Settings
from guestgate.domain.messages import RequesterNotification
from guestgate.domain.timestamps import utcnow
from guestgate.errors import DeliveryError, Unavailable
from guestgate.services import outbox


def cmd_worker(settings: Settings, args: argparse.Namespace) -> None:
    configure_process(settings)

    async def main() -> None:
        # In Microsoft 365 mode the worker holds the Graph client, as `serve` does: the
        # lifecycle scheduler and bulk jobs act on the tenant through it.
        runtime = build_runtime(settings, poll_seconds=args.poll, connect_graph=True)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, runtime.worker.stop)
        try:
            await runtime.worker.run()
        finally:
            await runtime.close()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


def cmd_outbox_list(settings: Settings, args: argparse.Namespace) -> None:
    found = run(
        settings,
        lambda rt: outbox.list_messages(rt.uow(write=False), status=args.status, limit=args.limit),
    )
    rows = [{k: v for k, v in asdict(m).items() if k != "payload"} for m in found]
    emit(rows, as_json=args.json)


def cmd_outbox_retry(settings: Settings, args: argparse.Namespace) -> None:
    target = None if args.id == "all" else args.id
    count = run(settings, lambda rt: outbox.retry_dead(rt.uow(), message_id=target, now=rt.now()))
    emit({"requeued": count}, as_json=args.json)


def cmd_mail_test(settings: Settings, args: argparse.Namespace) -> None:
    transport = mail_transport(settings.mail)
    message = build(
        RequesterNotification(to=args.to, org="guestgate", guest="This is a test message; it"),
        outbox_id=str(uuid.uuid4()),
        sender=mail_sender(settings.mail),
        now=utcnow(),
        subject="guestgate mail test",
    )

    async def send_once() -> None:
        try:
            await transport.send(message)
        finally:
            await transport.close()

    try:
        asyncio.run(send_once())
    except DeliveryError as exc:
        raise Unavailable(f"the test message was not delivered: {exc.reason}") from None
    where = "SMTP" if settings.mail.smtp_url else settings.mail.mail_dir
    emit(
        {"sent": True, "to": args.to, "via": where, "messageId": message.message_id},
        as_json=args.json,
    )


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("worker", help="deliver outbox messages (run several on PostgreSQL)")
    p.add_argument("--poll", type=float, default=1.0, help="seconds between looks at the outbox")
    p.set_defaults(func=cmd_worker)

    box = sub.add_parser("outbox", help="the message outbox").add_subparsers(required=True)
    p = box.add_parser("list", help="messages, newest first")
    p.add_argument("--status", choices=["pending", "sent", "dead"])
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_outbox_list)
    p = box.add_parser("retry", help="queue dead messages again")
    p.add_argument("id", help="a message id, or 'all'")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_outbox_retry)

    mail = sub.add_parser("mail", help="mail settings").add_subparsers(required=True)
    p = mail.add_parser("test", help="send a test message with the configured transport")
    p.add_argument("--to", required=True)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_mail_test)
