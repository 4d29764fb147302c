"""Split versions (``splits/``) and their exports (``exports/``), mounted under ``/api/``."""
from django.urls import path

from datasets import apis_splits as apis

urlpatterns = [
    path("splits/", apis.SplitVersionListApi.as_view(), name="split-version-list"),
    path("splits/make/", apis.SplitMakeApi.as_view(), name="split-make"),
    path("splits/import/", apis.SplitImportApi.as_view(), name="split-import"),
    path("splits/<int:split_version_id>/", apis.SplitVersionDetailApi.as_view(), name="split-version-detail"),
    path("splits/<int:split_version_id>/balance/", apis.SplitBalanceApi.as_view(), name="split-balance"),
    path("splits/<int:split_version_id>/balance.png", apis.SplitBalancePlotApi.as_view(), name="split-balance-png"),
    path("splits/<int:split_version_id>/clips/", apis.SplitClipListApi.as_view(), name="split-clips"),
    path("splits/<int:split_version_id>/manifest.csv", apis.SplitManifestApi.as_view(), name="split-manifest"),
    path("splits/<int:split_version_id>/edit/", apis.SplitEditApi.as_view(), name="split-edit"),
    path("exports/", apis.ExportListApi.as_view(), name="export-list"),
    path("exports/formats/", apis.ExportFormatListApi.as_view(), name="export-formats"),
    path("exports/launch/", apis.ExportLaunchApi.as_view(), name="export-launch"),
    path("exports/<int:export_id>/", apis.ExportDetailApi.as_view(), name="export-detail"),
    path("exports/<int:export_id>/download/", apis.ExportDownloadApi.as_view(), name="export-download"),
]
