"""Write the Power Automate / Logic Apps custom connector from a running guestgate.

    .venv/bin/python scripts/power_automate_connector.py \
        [--from http://127.0.0.1:8365] [--public-url https://guestgate.contoso.example] \
        [--tenant contoso.example] [--out clients/power-automate]

It reads the live /openapi.json of the server at --from and writes apiDefinition.swagger.json
(OpenAPI 2.0) and apiProperties.json for the guestgate that callers reach at --public-url
(default: --from), taking tokens from --tenant (its id or domain). See docs/api.md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import httpx

from guestgate.web.connector import power_automate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from", dest="source", default="http://127.0.0.1:8365")
    parser.add_argument("--public-url", help="the URL callers reach (default: --from)")
    parser.add_argument("--tenant", default="contoso.example", help="tenant id or domain")
    parser.add_argument("--out", default="clients/power-automate", type=Path)
    parser.add_argument("--ca-file", help="CA file for an https --from with a private CA")
    args = parser.parse_args()
    source = args.source.rstrip("/")
    verify = args.ca_file or True
    answer = httpx.get(f"{source}/openapi.json", verify=verify, trust_env=False, timeout=30)
    answer.raise_for_status()
    definition, properties = power_automate(
        answer.json(), public_url=args.public_url or source, tenant=args.tenant
    )
    args.out.mkdir(parents=True, exist_ok=True)
    for name, content in (
        ("apiDefinition.swagger.json", definition),
        ("apiProperties.json", properties),
    ):
        path = args.out / name
        path.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n")
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
