"""Which enterprise a browser session acts for (set by the enterprise login or an SMS link)."""

from __future__ import annotations

SESSION_KEY = "enterprise_id"


def current_enterprise_id(request) -> int | None:
    value = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    return int(value) if value else None


def may_see_enterprise(request, enterprise_id: int) -> bool:
    """Staff who may view the register, or the firm itself; never another firm."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.has_perm("enterprises.view_enterprise"):
        return True
    return current_enterprise_id(request) == enterprise_id
