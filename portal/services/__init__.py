"""Writes for the enterprise portal, one module per concern; each write is one atomic function, and views
stay thin and call them:

- ``signin``: signing in with an SMS code;
- ``feedback``: reactions, 好差评 ratings and their follow-up, label subscriptions;
- ``corrections``: tag corrections and their review.

(The SMS link's openings and revoking are ``notifications.links``'.)
"""
