"""Per-process runtime objects shared by every request of one app instance."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from guestgate.adapters.mail.render import Sender
from guestgate.adapters.mail.transport import make_transport
from guestgate.adapters.sealing import Sealer, derive, secret_hash_key
from guestgate.adapters.sql.database import Database, connect
from guestgate.adapters.sql.unit_of_work import SqlUnitOfWork
from guestgate.adapters.tokens import KeyRing, KeySet, TokenVerifier
from guestgate.config import Settings
from guestgate.domain.timestamps import utcnow
from guestgate.services.keys import load_key_set
from guestgate.services.tokens import GRAPH, GUESTGATE_API
from guestgate.worker import OutboxWorker


@dataclass
class Runtime:
    settings: Settings
    db: Database
    sealer: Sealer
    hash_key: bytes
    cursor_key: bytes
    form_key: bytes
    keyring: KeyRing = field(init=False)
    verifier: TokenVerifier = field(init=False)
    worker: OutboxWorker = field(init=False)

    def __post_init__(self) -> None:
        self.keyring = KeyRing(self._load_keys)
        self.verifier = TokenVerifier(
            self.keyring,
            public_url=self.settings.public_url,
            audiences=frozenset({GRAPH, GUESTGATE_API}),
            leeway=self.settings.token_leeway_seconds,
        )
        self.worker = OutboxWorker(
            self.uow,
            sealer=self.sealer,
            transport=make_transport(
                self.settings.smtp_url, self.settings.mail_dir, ca_file=self.settings.smtp_ca_file
            ),
            sender=Sender(self.settings.mail_from),
            retry_base=self.settings.outbox_retry_base_seconds,
        )

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        return cls(
            settings=settings,
            db=connect(settings.database_url),
            sealer=Sealer(settings.secret_key),
            hash_key=secret_hash_key(settings.secret_key),
            cursor_key=derive(settings.secret_key, "guestgate paging cursor v1"),
            form_key=derive(settings.secret_key, "guestgate redemption forms v1"),
        )

    def uow(self, *, write: bool = True) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.db, write=write)

    def now(self) -> datetime:
        return utcnow()

    async def _load_keys(self) -> KeySet:
        return await load_key_set(self.uow(write=False), sealer=self.sealer, now=self.now())
