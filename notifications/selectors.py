"""Reads for pushes: a message's text as the phone shows it, and a firm's message by its link token."""

from __future__ import annotations

from notifications.models import Message
from notifications.services import message_link
from notifications.sms import render
from policies.models import Policy


def message_text(*, message: Message) -> str:
    """The body the firm received (without the signature), rendered as sending rendered it."""
    firm = message.enterprise
    first = Policy.objects.filter(pk__in=message.policy_ids[:1]).first()
    title = (first.short_title or first.title[:12]) if first else ""
    values = {"企业简称": firm.short_name or firm.name, "n": len(message.policy_ids), "政策简称": title,
              "link": message_link(campaign=message.campaign, token=message.token)}  # fmt: skip
    return render(message.campaign.template.body, values)


def message_by_token(*, token: str) -> Message | None:
    """The message behind a link, with what its page needs; None for an unknown token."""
    return Message.objects.select_related("campaign", "enterprise").filter(token=token).first()
