from django.urls import path

from tasks import apis_runs

urlpatterns = [
    path("runs/", apis_runs.RunListApi.as_view(), name="run-list"),
    path("runs/compare/", apis_runs.RunCompareApi.as_view(), name="run-compare"),
    path("runs/<int:run_id>/", apis_runs.RunDetailApi.as_view(), name="run-detail"),
    path("runs/<int:run_id>/plots/<slug:name>.png", apis_runs.RunPlotApi.as_view(), name="run-plot"),
]
