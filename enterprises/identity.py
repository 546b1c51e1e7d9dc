"""Which enterprise a browser session acts for — the one owner of an enterprise's sign-in state.

The enterprise sign-in page (``portal.views.enterprise.login``) calls ``enterprise_sign_in``; the pages
and the API read it back through ``current_enterprise_id`` / ``may_see_enterprise``. Nothing else reads
or writes the session key.
"""

from __future__ import annotations

from enterprises.models import Enterprise

SESSION_KEY = "enterprise_id"


def enterprise_sign_in(request, enterprise: Enterprise) -> None:
    request.session.cycle_key()  # a new session id on sign-in
    request.session[SESSION_KEY] = enterprise.pk


def enterprise_sign_out(request) -> None:
    request.session.flush()


def current_enterprise_id(request) -> int | None:
    value = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    return int(value) if value else None


def current_enterprise(request) -> Enterprise | None:
    enterprise_id = current_enterprise_id(request)
    return Enterprise.objects.filter(pk=enterprise_id).first() if enterprise_id else None


def may_see_enterprise(request, enterprise_id: int) -> bool:
    """Staff who may view the register, or the enterprise itself; never another enterprise."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.has_perm("enterprises.view_enterprise"):
        return True
    return current_enterprise_id(request) == enterprise_id
