"""Consent to SMS (工信部令第31号: commercial SMS needs consent and an easy way to refuse). A firm refuses by
replying R, TD, 退订 … to any of our messages, or with the button on its link page or its signed-in page (where it
can also take the refusal back); from then on it is left out of every push (audience's ``opted_out``), and its
messages still waiting to be sent are cancelled.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from enterprises.models import Enterprise
from notifications.models import Message

OPT_OUT_WORDS = {"R", "T", "TD", "N", "退订", "拒收"}


def reply_is_opt_out(*, text: str) -> bool:
    """A reply that refuses further SMS (R, TD, T, 退订 …), as carriers and 工信部令第31号 expect."""
    return text.strip().strip("。.!！").upper() in OPT_OUT_WORDS


@transaction.atomic
def enterprise_sms_opt_out(*, mobile: str = "", enterprise_id: int | None = None) -> int:
    """Stop every SMS to the firms behind a number (or one firm): opted out now, waiting messages cancelled.

    Returns how many firms were newly opted out; a repeat changes nothing.
    """
    enterprises = Enterprise.objects.filter(sms_opt_out=False)
    if enterprise_id is not None:
        enterprises = enterprises.filter(pk=enterprise_id)
    elif mobile:
        enterprises = enterprises.filter(contact_mobile=mobile)
    else:
        return 0
    ids = list(enterprises.select_for_update().values_list("pk", flat=True))
    Enterprise.objects.filter(pk__in=ids).update(sms_opt_out=True, sms_opt_out_at=timezone.now())
    Message.objects.filter(enterprise_id__in=ids, status=Message.Status.CREATED).update(status=Message.Status.CANCELLED)
    return len(ids)


@transaction.atomic
def enterprise_sms_opt_in(*, enterprise_id: int) -> bool:
    """A firm that opted out takes it back (from its own signed-in page): it is in pushes again from the next
    one. Messages cancelled when it opted out stay cancelled. Returns whether anything changed."""
    return bool(
        Enterprise.objects.filter(pk=enterprise_id, sms_opt_out=True).update(sms_opt_out=False, sms_opt_out_at=None)
    )
