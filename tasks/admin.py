from django.contrib import admin

from tasks.models import Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "dataset", "state", "progress", "launched_by", "created_at", "finished_at")
    list_filter = ("kind", "state")
    readonly_fields = [f.name for f in Job._meta.fields]
import tasks.admin_runs  # noqa: E402,F401  (model registry pages)
