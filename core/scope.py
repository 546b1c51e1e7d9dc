"""The district a staff account is limited to, for the apps below the one that keeps staff scopes.

Staff scopes (a district and/or a department per account) are kept by ``policies`` (``StaffScope``), since
a department is a policies concept. The register's admin sits below policies and must still show a
district's staff only that district's firms, so policies hands its answer down through this one hook
(``PoliciesConfig.ready``), and nothing here imports an app. Until a resolver is installed every account
counts as city-wide, which is what a project without staff scopes means.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Q

_district_of: Callable[[object], int | None] | None = None


def set_district_resolver(resolver: Callable[[object], int | None]) -> None:
    """Installed once by the app that keeps staff scopes: user → the id of their district, or None."""
    global _district_of
    _district_of = resolver


def staff_district_id(user) -> int | None:
    """The ``core.Region`` id a staff account is limited to, or None for the whole city."""
    if _district_of is None or user is None or getattr(user, "is_superuser", False):
        return None
    return _district_of(user)


def district_q(user, region_field: str = "region") -> Q:
    """Rows within the account's district (``region_field`` names the region key); everything for city staff."""
    district = staff_district_id(user)
    return Q() if district is None else Q(**{f"{region_field}_id": district})
