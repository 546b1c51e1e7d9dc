"""The text of a push's messages: the value of each template placeholder for one firm (its name, how many
policies, the first one's title, its link from ``links``), and the text and its length, in Python and as
SQL. (The rules any SMS text follows are ``sms_rules``.)

Planning bills each message's length from the SQL here, sending renders the text from the same
expressions' values, and the admin shows a sent message from them again, so the text billed, the text
sent and the text shown cannot drift apart.
"""

from __future__ import annotations

from django.conf import settings

from notifications.links import link_length, link_sql
from notifications.models import Campaign

# The variables as SQL over firm ``e`` and policy ``p``.
SHORT_NAME_SQL = "COALESCE(NULLIF(e.short_name, ''), e.name)"
POLICY_TITLE_SQL = "COALESCE(NULLIF(p.short_title, ''), left(p.title, 12))"


def message_values(*, short_name: str, count: int, first_title: str, link: str) -> dict:
    """One message's template variables by vendor name (sms_rules.VENDOR_NAMES), from the values SHORT_NAME_SQL
    and POLICY_TITLE_SQL give."""
    return {"name": short_name, "n": str(count), "policy": first_title, "link": link}


def variables_sql(campaign: Campaign) -> dict[str, tuple[str, list]]:
    """SQL for each template variable of a bundle ``b`` of firm ``e`` (the link token is ``t.token``)."""
    return {
        "企业简称": (SHORT_NAME_SQL, []),
        "n": ("cardinality(b.policy_ids)::text", []),
        "政策简称": ("b.first_title", []),
        "link": link_sql(campaign),
    }


def length_sql(campaign: Campaign) -> str:
    """SQL for the length of each bundle's message, signature included: the template's own characters
    plus each placeholder's value length as often as it occurs (what text_sql would render, unrendered)."""
    body = campaign.template.body
    link = link_length(campaign)
    fixed, terms = len(f"【{settings.SMS_SIGNATURE}】") + len(body), []
    for placeholder, (value, _) in variables_sql(campaign).items():
        occurrences = body.count(f"{{{placeholder}}}")
        if occurrences:
            value_length = link if placeholder == "link" else f"char_length({value})"
            fixed -= occurrences * len(f"{{{placeholder}}}")
            terms.append(f"{occurrences} * {value_length}")
    return f"({' + '.join([str(fixed), *terms])})"


def text_sql(campaign: Campaign) -> tuple[str, list]:
    """SQL rendering the template for each bundle: one replace() per placeholder."""
    expr, params = "%s", [campaign.template.body]
    for placeholder, (value, value_params) in variables_sql(campaign).items():
        expr = f"replace({expr}, %s, {value})"
        params += [f"{{{placeholder}}}", *value_params]
    return expr, params
