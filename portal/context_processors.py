"""Template context every portal page needs."""

from enterprises.identity import current_enterprise_id


def signed_in(request) -> dict:
    """Whether the browser acts for an enterprise (the header offers 我的政策包 and 退出 then)."""
    return {"enterprise_signed_in": current_enterprise_id(request) is not None}
