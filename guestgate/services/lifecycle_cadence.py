"""When a worker's lifecycle pass evaluates every guest: once a day, and not every sweep.

The worker looks every five minutes (worker.py LIFECYCLE_INTERVAL). A pass reads every
guest of every tenant with a policy, 40 s of CPU at 1,000,000 guests (docs/governance.md,
Cost), while a policy's steps fall due by the day: evaluating again five minutes later
finds the same steps. So a look runs a pass only when

- no pass has run in this process yet (at start, after downtime),
- the UTC day changed since the last one (the steps of a new day),
- the policies changed since (one created, edited, enabled or disabled: its steps may be
  due at once), or
- the last pass left due steps over its limit (a backlog, worked through a limit at a time,
  as before).

Every worker process decides for itself; each due step is still claimed once in the
database (services/lifecycle_scheduler.py), so two processes passing on the same day do the
work once between them.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from datetime import date


@dataclass
class Cadence:
    """The last pass's day, the policies it saw, and whether it left due steps."""

    day: date | None = None
    policies: Hashable = None
    backlog: bool = False

    def wanted(self, today: date, policies: Hashable) -> bool:
        return self.day != today or self.policies != policies or self.backlog

    def ran(self, today: date, policies: Hashable, *, left: int) -> None:
        self.day, self.policies, self.backlog = today, policies, left > 0
