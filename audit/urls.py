from django.urls import path

from audit import apis

urlpatterns = [
    path("audit/", apis.AuditEntryListApi.as_view(), name="audit-entry-list"),
]
