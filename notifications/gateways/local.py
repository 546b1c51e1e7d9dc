"""Gateways that send nothing over the network: for development and the demo. Nothing comes back from them,
so they take no callbacks (their webhook paths answer 404)."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from enterprises.validators import mask_mobile
from notifications.gateways import Gateway, Outcome, OutgoingSms, SendResult

log = logging.getLogger("notifications.sms")


class ConsoleGateway(Gateway):
    """Logs each message (phone masked) and accepts it."""

    name = "console"
    batch_size = 1000

    def send(self, messages, *, signature, template_code, call_id):
        for sms in messages:
            log.info("SMS %s → %s: 【%s】%s", sms.out_id, mask_mobile(sms.mobile), signature, sms.text)
        return [SendResult(m.out_id, Outcome.ACCEPTED, gateway_id=f"console-{m.out_id}") for m in messages]


class FileGateway(Gateway):
    """Appends each accepted message to a JSON-lines outbox (var/sms-outbox.jsonl) the demo can show."""

    name = "file"
    batch_size = 1000

    def __init__(self, path: Path | None = None):
        self.path = Path(path or os.environ.get("SMS_OUTBOX", settings.VAR_DIR / "sms-outbox.jsonl"))

    def send(self, messages: list[OutgoingSms], *, signature, template_code, call_id):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        now = timezone.now().isoformat()
        with open(self.path, "a", encoding="utf-8") as outbox:
            for sms in messages:
                record = {"out_id": sms.out_id, "mobile": sms.mobile, "text": f"【{signature}】{sms.text}",
                          "template": template_code, "call_id": call_id, "at": now}  # fmt: skip
                outbox.write(json.dumps(record, ensure_ascii=False) + "\n")
        return [SendResult(m.out_id, Outcome.ACCEPTED, gateway_id=f"file-{m.out_id}") for m in messages]

    def accepted(self, stuck):
        """The outbox is the whole truth: a message not in it was not sent."""
        found = set()
        if self.path.exists():
            with open(self.path, encoding="utf-8") as outbox:
                found = {json.loads(line)["out_id"] for line in outbox}
        return {sms.out_id: sms.out_id in found for sms in stuck}
