from django.urls import include, path

from tasks import apis

urlpatterns = [
    path("", include("tasks.urls_runs")),
    path("job-kinds/", apis.JobKindListApi.as_view(), name="job-kind-list"),
    path("jobs/", apis.JobListApi.as_view(), name="job-list"),
    path("jobs/launch/", apis.JobLaunchApi.as_view(), name="job-launch"),
    path("jobs/<int:job_id>/", apis.JobDetailApi.as_view(), name="job-detail"),
    path("jobs/<int:job_id>/cancel/", apis.JobCancelApi.as_view(), name="job-cancel"),
]
