"""The authorization_code grant at the token endpoint, at a fixed rate (`--exchange-rate`,
1,000/s by default). Codes are single use, so all of them are made before the timed part:
a member signs in once through the pages, and each code comes from an authorization
request that the live session answers."""

from __future__ import annotations

import time
from typing import Any

from bench import signin_setup
from bench.harness import CaseRun
from bench.load import run_openloop


def code_exchange(run: CaseRun) -> dict[str, Any]:
    rate, duration = run.args.exchange_rate, run.args.duration
    with run.guestgate() as server:
        session = signin_setup.signed_in(server)
        started = time.monotonic()
        codes = signin_setup.codes(server, session, int(rate * duration))
        prepared_s = time.monotonic() - started
        forms = run.workdir / "exchange-forms.txt"
        forms.write_text("".join(session.exchange_form(code) + "\n" for code in codes))
        result = run_openloop(
            server,
            path=session.token_path,
            token="",
            body=None,
            rate=rate,
            duration=duration,
            forms=str(forms),
        )
        result["codes"] = len(codes)
        result["codes_per_s"] = len(codes) / prepared_s  # authorize with the session
        return result
