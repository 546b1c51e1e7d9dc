"""What a firm's SMS says: its template variables and its link, in Python and as SQL.

Planning bills each message's length from the SQL here, sending renders the text from the same
expressions' values, and the admin shows a sent message from them again, so the text billed, the text
sent and the text shown cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings

from notifications.models import Campaign

LINK_PATH = "/b/"  # + the firm's token: its own package page
FIXED_LINK_PATH = "/m"  # one URL for every firm; the firm signs in with its USCC and an SMS code
LINK_DAYS = 90
# A link token is 96 random bits as 16 URL-safe characters. A slice's tokens are cut from one string of
# random bytes drawn in Python (the secrets module): PostgreSQL's own strong random source, as
# gen_random_uuid() uses it, costs a system call per row, a tenth of what writing a message costs.
TOKEN_BYTES = 12
TOKEN_LENGTH = 16
TOKEN_SQL = f"translate(encode(substr(%s::bytea, b.n * {TOKEN_BYTES} + 1, {TOKEN_BYTES}), 'base64'), '+/', '-_')"

# The variables as SQL over firm ``e`` and policy ``p``.
SHORT_NAME_SQL = "COALESCE(NULLIF(e.short_name, ''), e.name)"
POLICY_TITLE_SQL = "COALESCE(NULLIF(p.short_title, ''), left(p.title, 12))"


def message_link(*, campaign: Campaign, token: str | None) -> str:
    """The link in a firm's SMS: its own package page, or the one fixed address (sign in with USCC + code)."""
    return link_maker(campaign)(token)


def link_maker(campaign: Campaign) -> Callable[[str | None], str]:
    """``message_link`` for the messages of one campaign, the settings read once (sending makes thousands)."""
    fixed = settings.PORTAL_BASE_URL + FIXED_LINK_PATH
    if campaign.link_mode == Campaign.LinkMode.FIXED:
        return lambda token: fixed
    base = settings.PORTAL_BASE_URL + LINK_PATH
    return lambda token: base + token if token else fixed


def message_values(*, short_name: str, count: int, first_title: str, link: str) -> dict:
    """One message's template variables by vendor name (sms.VENDOR_NAMES), from the values SHORT_NAME_SQL
    and POLICY_TITLE_SQL give."""
    return {"name": short_name, "n": str(count), "policy": first_title, "link": link}


def variables_sql(campaign: Campaign) -> dict[str, tuple[str, list]]:
    """SQL for each template variable of a bundle ``b`` of firm ``e`` (the link token is ``t.token``)."""
    if campaign.link_mode == Campaign.LinkMode.FIXED:
        link = ("%s", [message_link(campaign=campaign, token=None)])
    else:
        link = ("%s || t.token", [settings.PORTAL_BASE_URL + LINK_PATH])
    return {
        "企业简称": (SHORT_NAME_SQL, []),
        "n": ("cardinality(b.policy_ids)::text", []),
        "政策简称": ("b.first_title", []),
        "link": link,
    }


def length_sql(campaign: Campaign) -> str:
    """SQL for the length of each bundle's message, signature included: the template's own characters
    plus each placeholder's value length as often as it occurs (what text_sql would render, unrendered)."""
    body = campaign.template.body
    link_length = len(message_link(campaign=campaign, token="x" * TOKEN_LENGTH))  # tokens have one length
    fixed, terms = len(f"【{settings.SMS_SIGNATURE}】") + len(body), []
    for placeholder, (value, _) in variables_sql(campaign).items():
        occurrences = body.count(f"{{{placeholder}}}")
        if occurrences:
            value_length = link_length if placeholder == "link" else f"char_length({value})"
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
