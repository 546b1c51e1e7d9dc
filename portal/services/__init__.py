"""Writes for the enterprise portal, one module per concern; each write is one atomic function, and views
stay thin and call them:

- ``signin``: signing in with an SMS code;
- ``feedback``: reactions, 好差评 ratings and their follow-up, label subscriptions;
- ``corrections``: tag corrections and their review.

(The SMS link's openings and revoking are ``notifications.links``'.) The names below are the modules' own,
for callers that use several concerns through ``portal.services``.
"""

from portal.services.corrections import correction_request, correction_review
from portal.services.feedback import policy_rate, policy_react, rating_follow_up, subscriptions_set
from portal.services.signin import LoginRefused, login_code_check, login_code_send

__all__ = [
    "LoginRefused",
    "correction_request",
    "correction_review",
    "login_code_check",
    "login_code_send",
    "policy_rate",
    "policy_react",
    "rating_follow_up",
    "subscriptions_set",
]
