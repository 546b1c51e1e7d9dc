"""Reporting application states as a department's system does: NDJSON lines to the applications API."""

import json


def post(client, *lines):
    body = "\n".join(line if isinstance(line, str) else json.dumps(line, ensure_ascii=False) for line in lines)
    return client.post("/api/applications/", data=body.encode(), content_type="application/x-ndjson")


def line(firm, policy, external_id, status, **extra):
    return {"uscc": firm.uscc, "policy": policy.pk, "external_id": external_id, "status": status, **extra}
