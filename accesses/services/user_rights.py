"""What one user may do, computed from their valid accesses (spec 01 §10.1-§10.3).

`UserRights.of(user)` loads the valid accesses with their roles in one query; every rule below reads
that snapshot, so a request asks the database once about its caller, whatever it checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from django.db.models import QuerySet

from accesses import catalogue
from accesses.models import Access, Perimeter, Role
from accesses.selectors import ancestors_by_perimeter, descendant_ids
from admin_cohort.rights import DIRECTORY_RIGHTS

REQUEST_ATTRIBUTE = "_accesses_user_rights"


@dataclass
class UserRights:
    user: object
    accesses: list[Access] = field(default_factory=list)

    @classmethod
    def of(cls, user) -> UserRights:
        if user is None or not getattr(user, "is_authenticated", False):
            return cls(user=user)
        accesses = Access.objects.valid_now().of_user(user).select_related("role").order_by("id")
        return cls(user=user, accesses=list(accesses))

    @classmethod
    def of_request(cls, request) -> UserRights:
        """Computed once per request, after authentication and impersonation."""
        rights = getattr(request, REQUEST_ATTRIBUTE, None)
        if rights is None or rights.user is not request.user:
            rights = cls.of(request.user)
            setattr(request, REQUEST_ATTRIBUTE, rights)
        return rights

    # ------------------------------------------------------------------------------------- predicates
    def holds(self, *flags: str) -> bool:
        return any(catalogue.holds(access.role, flags) for access in self.accesses)

    def perimeters_with(self, *flags: str) -> set[int]:
        return {
            access.perimeter_id
            for access in self.accesses
            if access.perimeter_id is not None and catalogue.holds(access.role, flags)
        }

    @property
    def is_full_admin(self) -> bool:
        return self.holds(catalogue.FULL_ADMIN)

    @property
    def can_manage_accesses(self) -> bool:
        """The coarse gate of the access endpoints; the per-access rule is `can_manage`."""
        return any(catalogue.allows_managing_accesses(access.role) for access in self.accesses)

    @property
    def can_see_every_profile(self) -> bool:
        return self.holds(*DIRECTORY_RIGHTS)

    @property
    def managing_perimeter_ids(self) -> set[int]:
        return self.perimeters_with(*catalogue.ACCESS_MANAGEMENT)

    # ---------------------------------------------------------------------------- managing an access
    def can_manage(self, role: Role | None, perimeter_id: int | None, ancestor_ids: set[int]) -> bool:
        """May this user grant, change or close `role` on the perimeter (whose strict ancestors are given)?"""
        if self.is_full_admin:
            return True
        if role is None or perimeter_id is None:
            return False
        admin_ok = data_ok = False
        for access in self.accesses:
            held = access.role
            if access.perimeter_id == perimeter_id and catalogue.holds(held, catalogue.SAME_LEVEL):
                admin_ok |= held.right_manage_admin_accesses_same_level
                data_ok |= held.right_manage_data_accesses_same_level
            elif access.perimeter_id in ancestor_ids and catalogue.holds(held, catalogue.INFERIOR_LEVELS):
                admin_ok |= held.right_manage_admin_accesses_inferior_levels
                data_ok |= held.right_manage_data_accesses_inferior_levels
            data_ok |= admin_ok  # whoever manages administrators manages data readers
        return (
            not catalogue.requires_full_admin(role)
            and (admin_ok or not catalogue.requires_admin_management(role))
            and (data_ok or not catalogue.requires_data_management(role))
        )

    def can_manage_on(self, role: Role | None, perimeter_id: int | None) -> bool:
        ancestors = ancestors_by_perimeter([perimeter_id]).get(perimeter_id, set())
        return self.can_manage(role, perimeter_id, ancestors)

    def assignable_roles(self, perimeter_id: int) -> list[Role]:
        ancestors = ancestors_by_perimeter([perimeter_id]).get(perimeter_id, set())
        return [role for role in Role.objects.order_by("name") if self.can_manage(role, perimeter_id, ancestors)]

    # ------------------------------------------------------------------------ manageable perimeters
    @cached_property
    def manageable_top_ids(self) -> set[int]:
        """The highest perimeters on which this user can manage accesses (spec 01 §10.3)."""
        if not self.accesses:
            return set()  # the reference answers the root here; nothing is manageable without an access
        if self.is_full_admin or all(
            catalogue.has_global_management(a.role) and not catalogue.has_level_management(a.role)
            for a in self.accesses
        ):
            return set(Perimeter.objects.filter(parent__isnull=True).values_list("id", flat=True))
        same = self.perimeters_with(*catalogue.SAME_LEVEL)
        inferior = self.perimeters_with(*catalogue.INFERIOR_LEVELS)
        managing = same | inferior
        ancestors = ancestors_by_perimeter(managing)
        top_same = {p for p in same if not ancestors[p] & managing}
        top_inferior_parents = {p for p in inferior - top_same if not ancestors[p] & managing}
        children = Perimeter.objects.filter(parent_id__in=top_inferior_parents).values_list("id", flat=True)
        return top_same | set(children)

    def manageable_perimeters(self, *, with_descendants: bool) -> QuerySet[Perimeter]:
        tops = self.manageable_top_ids
        ids = descendant_ids(tops) if with_descendants else tops
        return Perimeter.objects.filter(id__in=ids)
