"""Every URL route of the project, read from the resolver, and the access rule of each.

``ROUTES`` is generated from the URL conf, so a route added without a rule in ``RULES`` makes
``test_every_route_has_a_rule`` fail: whoever adds a route decides who may use it.
"""
from django.urls import URLPattern, URLResolver, get_resolver

ANON = "anonymous"
ANNOTATOR, REVIEWER, CURATOR, ADMIN = "annotator", "reviewer", "curator", "admin"
ROLES = (ANON, ANNOTATOR, REVIEWER, CURATOR, ADMIN)

PUBLIC = ROLES
ANYONE = (ANNOTATOR, REVIEWER, CURATOR, ADMIN)
ANNOTATE = (ANNOTATOR, CURATOR, ADMIN)
REVIEW = (REVIEWER, CURATOR, ADMIN)
CURATE = (CURATOR, ADMIN)
ADMIN_ONLY = (ADMIN,)

# name -> {method: roles allowed}. Everyone else must be refused (401/403, or 404 for a hidden
# object). "Allowed" means the permission layer let the request through: the answer is not
# 401/403 and not a server error (a 400 for an empty body or a 404 for a made-up id is fine).
RULES: dict[str, dict[str, tuple[str, ...]]] = {
    # schema, docs and login: public by design
    "schema": {"get": PUBLIC},
    "swagger-ui": {"get": PUBLIC},
    "token-obtain": {"post": PUBLIC},
    "labelling_ui:login": {"get": PUBLIC, "post": PUBLIC},
    "labelling_ui:logout": {"post": PUBLIC},
    # datasets and clips (annotators: only what they hold, by selector scoping)
    "dataset-list": {"get": ANYONE},
    "dataset-detail": {"get": ANYONE},
    "exercise-list": {"get": ANYONE},
    "error-type-list": {"get": ANYONE},
    "participant-list": {"get": CURATE},
    "clip-list": {"get": ANYONE},
    "clip-upload": {"post": CURATE},
    "clip-detail": {"get": ANYONE},
    "clip-pose": {"get": ANYONE},
    "clip-repetitions": {"get": ANYONE},
    "clip-truth": {"get": CURATE},
    # splits and exports
    "split-version-list": {"get": CURATE},
    "split-make": {"post": CURATE},
    "split-import": {"post": CURATE},
    "split-version-detail": {"get": CURATE},
    "split-balance": {"get": CURATE},
    "split-balance-png": {"get": CURATE},
    "split-clips": {"get": CURATE},
    "split-manifest": {"get": CURATE},
    "split-edit": {"post": CURATE},
    "export-list": {"get": CURATE},
    "export-formats": {"get": CURATE},
    "export-launch": {"post": CURATE},
    "export-detail": {"get": CURATE},
    "export-download": {"get": CURATE},
    # raw labels
    "vote-list": {"get": ANYONE},
    "vote-submit": {"post": ANNOTATE},
    "end-point-list": {"get": ANYONE},
    "end-point-submit": {"post": ANNOTATE},
    "segment-list": {"get": ANNOTATE, "post": ANNOTATE},
    "segment-submit": {"post": ANNOTATE},
    "segment-detail": {"patch": ANNOTATE, "delete": ANNOTATE},
    "feedback-list": {"get": ANNOTATE, "post": ANNOTATE},
    "feedback-submit": {"post": ANNOTATE},
    "feedback-detail": {"patch": ANNOTATE, "delete": ANNOTATE},
    # work queue (the kind decides: reviewers take only flex_stage2 items)
    "queue-next": {"post": ANYONE},
    "queue-release": {"post": ANYONE},
    "queue-complete": {"post": ANYONE},
    "queue-send-back": {"post": CURATE},
    "queue-progress": {"get": CURATE},
    "queue-overview": {"get": ANYONE},
    # label sets and agreement reports (aggregation)
    "label-set-list": {"get": CURATE},
    "label-set-detail": {"get": CURATE},
    "label-set-items": {"get": CURATE},
    "label-set-set-current": {"post": CURATE},
    "label-set-histogram": {"get": CURATE},
    "label-set-histogram-png": {"get": CURATE},
    "agreement-report-list": {"get": CURATE},
    "agreement-report-latest": {"get": CURATE},
    "agreement-report-detail": {"get": CURATE},
    "agreement-error-types": {"get": CURATE},
    "agreement-annotators": {"get": CURATE},
    # knowledge graph and FLEX two-stage labels
    "kg-graph-version-list": {"get": ANYONE},
    "kg-action-list": {"get": ANYONE},
    "kg-action-detail": {"get": ANYONE},
    "kg-error-type-list": {"get": ANYONE},
    "kg-score": {"post": ANYONE},
    "kg-sample-detail": {"get": ANYONE},
    "kg-stage1-submit": {"post": ANNOTATE},
    "kg-review-detail": {"get": REVIEW},
    "kg-stage2-submit": {"post": REVIEW},
    "kg-sample-feedback": {"get": CURATE},
    "kg-sample-truth": {"get": CURATE},
    "kg-label-set-list": {"get": CURATE},
    "kg-label-set-detail": {"get": CURATE},
    "kg-label-set-samples": {"get": CURATE},
    "kg-label-set-make-current": {"post": CURATE},
    "kg-agreement": {"get": CURATE},
    "kg-feedback-list": {"get": ANYONE},
    "kg-feedback-history": {"get": ANYONE},
    "kg-feedback-create": {"post": CURATE},
    # jobs and model runs
    "job-kind-list": {"get": ANYONE},
    "job-list": {"get": ANYONE},
    "job-launch": {"post": CURATE},
    "job-detail": {"get": ANYONE},
    "job-cancel": {"post": CURATE},
    "run-list": {"get": ADMIN_ONLY, "post": ADMIN_ONLY},
    "run-compare": {"get": ADMIN_ONLY},
    "run-detail": {"get": ADMIN_ONLY},
    "run-plot": {"get": ADMIN_ONLY},
    # audit log: read-only, curators and admins
    "audit-entry-list": {"get": CURATE},
    # browser pages
    "labelling_ui:home": {"get": ANYONE},
    "labelling_ui:annotate": {"get": ANNOTATE},  # the matrix asks for kind "endpoints"
    "labelling_ui:item-context": {"get": ANYONE},
    "labelling_ui:clip-video": {"get": ANYONE},
    "labelling_ui:curate-index": {"get": CURATE},
    "labelling_ui:curate-dataset": {"get": CURATE},
    "labelling_ui:curate-agreement": {"get": CURATE},
    "labelling_ui:curate-reliability": {"get": CURATE},
    "labelling_ui:curate-label-sets": {"get": CURATE},
    "labelling_ui:curate-disagreements": {"get": CURATE},
    "labelling_ui:curate-send-back": {"post": CURATE},
    "labelling_ui:curate-set-current": {"post": CURATE},
    "labelling_ui:curate-splits": {"get": CURATE},
    "labelling_ui:curate-export-launch": {"post": CURATE},
    "labelling_ui:curate-export-row": {"get": CURATE},
    "labelling_ui:jobs": {"get": CURATE},
    "labelling_ui:job-launch": {"post": CURATE},
    "labelling_ui:job-detail": {"get": CURATE},
    "labelling_ui:job-progress": {"get": CURATE},
    "labelling_ui:job-cancel": {"post": CURATE},
    "labelling_ui:runs": {"get": ADMIN_ONLY},
    "labelling_ui:run-compare": {"get": ADMIN_ONLY},
    "labelling_ui:run-detail": {"get": ADMIN_ONLY},
}

# Django's admin site is one rule: staff only (none of the four roles is staff by itself).
ADMIN_SITE_PREFIX = "admin/"

_METHODS = ("get", "post", "put", "patch", "delete")


def _walk(patterns, prefix="", namespace=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = namespace + (f"{p.namespace}:" if p.namespace else "")
            yield from _walk(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), (namespace + p.name) if p.name else None, p.callback


def all_routes():
    """(route, name, methods) for every non-admin route. Class-based views list the methods they
    implement; function views are taken at their rule's word (GET pages, POST actions), but a
    function view with no rule still shows up here and fails the completeness test."""
    out = []
    for route, name, callback in _walk(get_resolver().url_patterns):
        if route.startswith(ADMIN_SITE_PREFIX):
            continue
        view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
        if view_class is not None and name not in ("labelling_ui:login", "labelling_ui:logout"):
            methods = tuple(m for m in _METHODS if hasattr(view_class, m))
        else:
            methods = tuple(RULES.get(name, {"get": ()}).keys())
        out.append((route, name, methods))
    return out


def admin_site_routes():
    return [route for route, _, _ in _walk(get_resolver().url_patterns) if route.startswith(ADMIN_SITE_PREFIX)]
