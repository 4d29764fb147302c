"""Browser pages, mounted at ``/``. Every view checks the role itself (see ``access.py``)."""
from django.contrib.auth import views as auth_views
from django.urls import path

from labelling_ui.views import annotate, curate, curate_labels, home, jobs, runs

app_name = "labelling_ui"

urlpatterns = [
    path("", home.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(template_name="labelling_ui/login.html",
                                                        redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # annotators and reviewers
    path("annotate/<int:dataset_id>/<slug:kind>/", annotate.annotate_page, name="annotate"),
    path("ui/items/<int:assignment_id>/", annotate.item_context_view, name="item-context"),
    path("ui/clips/<int:clip_id>/video/", annotate.clip_video, name="clip-video"),
    # curators
    path("curate/", curate.curate_index, name="curate-index"),
    path("curate/<int:dataset_id>/", curate.dataset_overview, name="curate-dataset"),
    path("curate/<int:dataset_id>/agreement/", curate_labels.agreement, name="curate-agreement"),
    path("curate/<int:dataset_id>/reliability/", curate_labels.reliability, name="curate-reliability"),
    path("curate/<int:dataset_id>/label-sets/", curate_labels.label_sets, name="curate-label-sets"),
    path("curate/<int:dataset_id>/label-sets/set-current/", curate_labels.set_current, name="curate-set-current"),
    path("curate/<int:dataset_id>/disagreements/", curate_labels.disagreements, name="curate-disagreements"),
    path("curate/<int:dataset_id>/disagreements/send-back/", curate_labels.send_back, name="curate-send-back"),
    path("curate/<int:dataset_id>/splits/", curate.dataset_splits, name="curate-splits"),
    path("curate/<int:dataset_id>/exports/launch/", curate.export_launch, name="curate-export-launch"),
    path("curate/<int:dataset_id>/exports/<int:export_id>/row/", curate.export_row, name="curate-export-row"),
    # jobs (curators and admins) and model runs (admins)
    path("jobs/", jobs.jobs_page, name="jobs"),
    path("jobs/launch/", jobs.job_launch_view, name="job-launch"),
    path("jobs/<int:job_id>/", jobs.job_detail, name="job-detail"),
    path("jobs/<int:job_id>/progress/", jobs.job_progress, name="job-progress"),
    path("jobs/<int:job_id>/cancel/", jobs.job_cancel_view, name="job-cancel"),
    path("runs/", runs.runs_page, name="runs"),
    path("runs/compare/", runs.run_compare, name="run-compare"),
    path("runs/<int:run_id>/", runs.run_detail, name="run-detail"),
]
