"""What a staff account may see: its district, its department, both, or the whole city (``StaffScope``).

Every list that must be scoped asks here: admin querysets (policies, pushes, messages, the 好差评 and 纠错
queues), the dashboard and the analytics API. The rules:

- a **district** account sees the firms of its district, and the policies that apply there (its own
  district's and every city-wide or higher one; another district's policies are hidden);
- a **department** account sees its department's policies and what follows from them (pushes naming them,
  ratings of them); a district-level department (新吴区科技局) is also limited to its district;
- both together narrow to both; no scope (or a superuser) means the whole city.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Q

from policies.models import Department, Policy, StaffScope

OUT_OF_SCOPE = "超出您的数据范围：您只能查看本区县或本部门的数据。"


@dataclass(frozen=True)
class Scope:
    region_id: int | None = None  # the district (a core.Region below the city); None: every district
    department_id: int | None = None  # None: every department

    @property
    def is_city(self) -> bool:
        return self.region_id is None and self.department_id is None

    def key(self) -> str:
        """A short text naming the scope, for cache keys."""
        return f"r{self.region_id or 0}d{self.department_id or 0}"

    # --- querysets ----------------------------------------------------------------------------------------

    def policy_q(self, prefix: str = "") -> Q:
        """Policies this scope sees (``prefix``: the path to a policy, e.g. ``"policy__"``)."""
        q = Q()
        if self.region_id is not None:
            q &= (
                Q(**{f"{prefix}region__isnull": True})
                | Q(**{f"{prefix}region__parent__isnull": True})
                | Q(**{f"{prefix}region_id": self.region_id})
            )
        if self.department_id is not None:
            through = Policy.departments.through.objects.filter(department_id=self.department_id)
            q &= Q(**{f"{prefix}pk__in": through.values("policy_id")})
        return q

    def enterprise_q(self, prefix: str = "") -> Q:
        """Firms this scope sees (``prefix``: the path to a firm, e.g. ``"enterprise__"``)."""
        return Q() if self.region_id is None else Q(**{f"{prefix}region_id": self.region_id})

    def visible_policies(self):
        return Policy.objects.filter(self.policy_q())

    def visible_policy_ids(self) -> set[int] | None:
        """Ids of the policies this scope sees, or None for every policy (city scope: nothing to filter)."""
        if self.department_id is None and self.region_id is None:
            return None
        return set(self.visible_policies().values_list("pk", flat=True))

    # --- checks -------------------------------------------------------------------------------------------

    def require_region(self, region_id: int | None) -> None:
        """Refuse a district other than the account's own."""
        if self.region_id is not None and region_id != self.region_id:
            raise PermissionDenied(OUT_OF_SCOPE)

    def require_policy(self, policy_id: int) -> None:
        if self.is_city:
            return
        if not Policy.objects.filter(self.policy_q(), pk=policy_id).exists():
            raise PermissionDenied(OUT_OF_SCOPE)

    def require_department(self, department_id: int) -> None:
        if self.department_id is not None and department_id != self.department_id:
            raise PermissionDenied(OUT_OF_SCOPE)


CITY = Scope()


def scope_for(user) -> Scope:
    """The account's scope, read once per user object (a request's user is read once per request)."""
    if user is None or not user.is_authenticated or user.is_superuser:
        return CITY
    cached = getattr(user, "_staff_scope_cache", None)
    if cached is not None:
        return cached
    row = StaffScope.objects.filter(user_id=user.pk).select_related("department__region").first()
    scope = CITY
    if row is not None:
        region_id = row.region_id
        department = row.department
        if region_id is None and department is not None and _is_district(department):
            region_id = department.region_id  # a district's department works for that district
        scope = Scope(region_id=region_id, department_id=row.department_id)
    user._staff_scope_cache = scope
    return scope


def _is_district(department: Department) -> bool:
    return department.region is not None and department.region.parent_id is not None


def staff_district_id(user) -> int | None:
    """For ``core.scope``: the district an account is limited to."""
    return scope_for(user).region_id
