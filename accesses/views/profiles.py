from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import mixins, viewsets

from accesses.filters import ProfileFilter
from accesses.models import Profile
from accesses.selectors import profiles_visible_to
from accesses.serializers import ProfileSerializer
from accesses.services.user_rights import UserRights
from admin_cohort.response_cache import CachedResponseMixin


class ProfileViewSet(CachedResponseMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Profile.objects.none()  # the model, for the schema; get_queryset() restricts to the caller
    serializer_class = ProfileSerializer
    filterset_class = ProfileFilter

    def get_queryset(self) -> QuerySet[Profile]:
        return profiles_visible_to(UserRights.of_request(self.request)).order_by("id")
