"""Admin pages of the model registry: the run list, a read-only run page with its plots, a side-by-side
comparison of two runs, and a form to launch a training job.

Only admins (the ``admin`` role or superusers) see these pages. The pages extend the admin's own
templates; their bodies are inline templates here because they are small and used nowhere else.
"""
import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.template import engines
from django.urls import path, reverse
from django.utils.html import format_html_join

from annotation.roles import ADMIN, has_role
from config.exceptions import DomainError
from datasets.models import Dataset
from tasks.models import ModelRun
from tasks.services import job_launch
from tasks.training.runs import model_run_compare

_COMPARE_TEMPLATE = """{% extends "admin/base_site.html" %}
{% block content %}
<h1>Run {{ a.pk }} vs run {{ b.pk }}</h1>
<table>
<tr><th></th><th>a: run {{ a.pk }}</th><th>b: run {{ b.pk }}</th></tr>
<tr><td>kind</td><td>{{ a.kind }}</td><td>{{ b.kind }}</td></tr>
<tr><td>dataset</td><td>{{ a.dataset }}</td><td>{{ b.dataset }}</td></tr>
<tr><td>split version</td><td>{{ a.split_version_id }}</td><td>{{ b.split_version_id }}</td></tr>
<tr><td>estimator / seed</td><td>{{ a.estimator }} / {{ a.seed }}</td><td>{{ b.estimator }} / {{ b.seed }}</td></tr>
<tr><td>same inputs</td><td colspan="2">{{ c.same_inputs }}</td></tr>
</table>
{% if c.params_changed %}<h2>Parameters that differ</h2><table>
<tr><th>parameter</th><th>a</th><th>b</th></tr>
{% for name, v in c.params_changed.items %}<tr><td>{{ name }}</td><td>{{ v.a }}</td><td>{{ v.b }}</td></tr>{% endfor %}
</table>{% endif %}
<h2>Metrics (delta = b - a)</h2><table>
<tr><th>metric</th><th>a</th><th>b</th><th>delta</th></tr>
{% for m in c.metrics %}<tr><td>{{ m.metric }}</td><td>{{ m.a|floatformat:4 }}</td><td>{{ m.b|floatformat:4 }}</td>
<td>{{ m.delta|floatformat:4 }}</td></tr>{% endfor %}
</table>
{% if c.error_types %}<h2>Kappa1 against the target per error type</h2><table>
<tr><th>error type</th><th>target</th><th>a Kappa1</th><th>a met</th><th>b Kappa1</th><th>b met</th><th>delta</th></tr>
{% for r in c.error_types %}<tr><td>{{ r.key }}</td><td>{{ r.target|floatformat:3 }}</td>
<td>{{ r.a_kappa1|floatformat:3 }}</td><td>{{ r.a_met }}</td><td>{{ r.b_kappa1|floatformat:3 }}</td>
<td>{{ r.b_met }}</td><td>{{ r.delta_kappa1|floatformat:3 }}</td></tr>{% endfor %}
</table>{% endif %}
<h2>Plots</h2>
<table><tr><th>run {{ a.pk }}</th><th>run {{ b.pk }}</th></tr>
<tr><td style="vertical-align:top">{% for name in c.plots.a %}<p>{{ name }}<br>
<img src="/api/runs/{{ a.pk }}/plots/{{ name }}.png" style="max-width:560px"></p>{% endfor %}</td>
<td style="vertical-align:top">{% for name in c.plots.b %}<p>{{ name }}<br>
<img src="/api/runs/{{ b.pk }}/plots/{{ name }}.png" style="max-width:560px"></p>{% endfor %}</td></tr></table>
{% endblock %}
"""

_LAUNCH_TEMPLATE = """{% extends "admin/base_site.html" %}
{% block content %}
<h1>Launch a training run</h1>
<p>The job runs on the <code>training</code> queue; its progress is on the job page, and the run
appears in the list when it succeeds.</p>
<form method="post">{% csrf_token %}<table>{{ form.as_table }}</table>
<input type="submit" value="Launch"></form>
{% endblock %}
"""


_CHANGELIST_TEMPLATE = """{% extends "admin/change_list.html" %}
{% block object-tools-items %}<li><a href="{% url 'admin:tasks_modelrun_launch' %}">Launch a training run</a></li>
{{ block.super }}{% endblock %}
"""


class LaunchRunForm(forms.Form):
    kind = forms.ChoiceField(choices=ModelRun.Kind.choices)
    dataset = forms.ModelChoiceField(queryset=Dataset.objects.all())
    params = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}), required=False, initial="{}",
        help_text='JSON object, e.g. {"split_version": 3, "mode": "generic", "seed": 1}',
    )

    def clean_params(self):
        raw = self.cleaned_data["params"].strip() or "{}"
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not JSON: {exc}") from None
        if not isinstance(value, dict):
            raise forms.ValidationError("Give a JSON object.")
        return value


def _render(request, template: str, context: dict):
    body = engines["django"].from_string(template).render(context, request)
    return HttpResponse(body)


@admin.register(ModelRun)
class ModelRunAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "dataset", "split_version", "estimator", "seed", "headline_short",
                    "duration_s", "launched_by", "created_at")
    list_filter = ("kind", "dataset")
    actions = ["compare_selected"]
    readonly_fields = [f.name for f in ModelRun._meta.fields] + ["plots"]
    change_list_template = None

    def has_module_permission(self, request):
        return has_role(request.user, ADMIN)

    def has_view_permission(self, request, obj=None):
        return has_role(request.user, ADMIN)

    def has_add_permission(self, request):
        return False  # runs come from training jobs only

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    @admin.display(description="headline")
    def headline_short(self, run):
        return ", ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}"
                         for k, v in list((run.headline or {}).items())[:4])

    @admin.display(description="plots")
    def plots(self, run):
        return format_html_join(
            "", '<p>{}<br><img src="/api/runs/{}/plots/{}.png" style="max-width:640px"></p>',
            ((name, run.pk, name) for name in run.plot_names()),
        )

    @admin.action(description="Compare the two selected runs")
    def compare_selected(self, request, queryset):
        ids = list(queryset.order_by("pk").values_list("pk", flat=True))
        if len(ids) != 2:
            self.message_user(request, "Select exactly two runs to compare.", level=messages.ERROR)
            return None
        return HttpResponseRedirect(reverse("admin:tasks_modelrun_compare") + f"?a={ids[0]}&b={ids[1]}")

    def get_urls(self):
        extra = [
            path("compare/", self.admin_site.admin_view(self.compare_view), name="tasks_modelrun_compare"),
            path("launch/", self.admin_site.admin_view(self.launch_view), name="tasks_modelrun_launch"),
        ]
        return extra + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        # A template object, not a name: TemplateResponse accepts either, and this one only adds
        # the "Launch a training run" button to the admin's own change list.
        self.change_list_template = engines["django"].from_string(_CHANGELIST_TEMPLATE)
        return super().changelist_view(request, extra_context=extra_context)

    def _require_admin(self, request):
        if not has_role(request.user, ADMIN):
            raise PermissionDenied

    def compare_view(self, request):
        self._require_admin(request)
        try:
            a = ModelRun.objects.select_related("dataset").get(pk=int(request.GET.get("a", "")))
            b = ModelRun.objects.select_related("dataset").get(pk=int(request.GET.get("b", "")))
        except (ValueError, ModelRun.DoesNotExist):
            self.message_user(request, "Give two existing run ids (?a=&b=).", level=messages.ERROR)
            return HttpResponseRedirect(reverse("admin:tasks_modelrun_changelist"))
        context = {**self.admin_site.each_context(request), "title": f"Compare runs {a.pk} and {b.pk}",
                   "a": a, "b": b, "c": model_run_compare(a=a, b=b)}
        return _render(request, _COMPARE_TEMPLATE, context)

    def launch_view(self, request):
        self._require_admin(request)
        form = LaunchRunForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                job = job_launch(kind=form.cleaned_data["kind"], dataset=form.cleaned_data["dataset"],
                                 params=form.cleaned_data["params"], user=request.user)
            except DomainError as exc:
                form.add_error(None, f"{exc.code}: {exc.detail}")
            else:
                self.message_user(request, f"Launched job {job.pk} ({job.kind}) on the training queue.")
                return HttpResponseRedirect(reverse("admin:tasks_job_change", args=[job.pk]))
        context = {**self.admin_site.each_context(request), "title": "Launch a training run", "form": form}
        return _render(request, _LAUNCH_TEMPLATE, context)
