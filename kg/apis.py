"""REST views of the kg app (mounted under ``/api/kg/``): the graph, scoring, two-stage annotation,
label sets, agreement and feedback texts. Each view validates, fetches through a selector, calls
one service and answers through its serializer."""
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.roles import IsAnnotator, IsCurator, IsReviewer
from config.api import ErrorSerializer, optional_int, paginated_response
from config.exceptions import NotFoundError
from datasets.selectors import dataset_get_for_user
from kg import selectors
from kg.models import FEEDBACK_MAX_CHARS, FlexSampleLabel, FlexTrueSlots
from kg.services.agreement import flex_agreement_compute
from kg.services.feedback import feedback_text_create, sample_feedback
from kg.services.graph import compiled_graph
from kg.services.label_sets import flex_label_set_make_current
from kg.services.scoring import slot_set_score
from kg.services.two_stage import review_view, sample_view, stage1_submit, stage2_submit

CLIENT_KEY = serializers.RegexField(r"^[A-Za-z0-9_.:-]{8,64}$",
                                    help_text="Client-chosen idempotency key, 8-64 characters.")
SLOT_LIST = serializers.ListField(
    child=serializers.CharField(max_length=40), allow_empty=True, max_length=200,
    help_text='Marked slots as "AKxx:ETyyy" (a merged row answers to any of its keysteps).',
)
ERRORS = {400: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer}


class KgSlotOutput(serializers.Serializer):
    slot = serializers.CharField()
    error_type = serializers.CharField()
    keysteps = serializers.ListField(child=serializers.CharField())
    phase = serializers.CharField()
    weight = serializers.IntegerField()
    description = serializers.CharField()


class KgPhasePenaltyOutput(serializers.Serializer):
    phase = serializers.CharField()
    penalty = serializers.IntegerField()
    total = serializers.IntegerField()


class KgScoreOutput(serializers.Serializer):
    """The same JSON ``manage.py kg_score`` prints."""

    action = serializers.CharField()
    action_code = serializers.CharField()
    graph_version = serializers.IntegerField()
    graph_hash = serializers.CharField()
    total = serializers.IntegerField()
    penalty = serializers.IntegerField()
    score = serializers.FloatField(help_text="(1 - penalty / total) x 100, 2 decimals.")
    marked = KgSlotOutput(many=True)
    penalty_by_phase = KgPhasePenaltyOutput(many=True)


def _graph_version_param(request):
    return selectors.graph_version_get(number=optional_int(request, "graph_version"))


GRAPH_VERSION_PARAM = OpenApiParameter("graph_version", int, description="Graph version number (default: current).")


class KgGraphVersionListApi(APIView):
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        number = serializers.IntegerField()
        content_hash = serializers.CharField()
        source = serializers.CharField()
        path = serializers.CharField()
        is_current = serializers.BooleanField()
        counts = serializers.DictField(child=serializers.IntegerField())
        loaded_at = serializers.DateTimeField()

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request):
        return paginated_response(request=request, view=self, queryset=selectors.graph_version_list(),
                                  serializer_class=self.OutputSerializer)


class KgActionListApi(APIView):
    """The graph's actions (A01..A20) with their total weights."""

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        code = serializers.CharField()
        index = serializers.IntegerField()
        name = serializers.CharField()
        total_weight = serializers.IntegerField()
        graph_version = serializers.IntegerField(source="graph_version.number")

    @extend_schema(parameters=[GRAPH_VERSION_PARAM], responses=OutputSerializer(many=True))
    def get(self, request):
        qs = selectors.action_list(graph_version=_graph_version_param(request)).select_related("graph_version")
        return paginated_response(request=request, view=self, queryset=qs, serializer_class=self.OutputSerializer)


class KgActionDetailApi(APIView):
    """One action: phases in order -> rows -> keysteps and slots with weights."""

    class OutputSerializer(serializers.Serializer):
        class PhaseOutput(serializers.Serializer):
            class RowOutput(serializers.Serializer):
                class KeystepOutput(serializers.Serializer):
                    code = serializers.CharField()
                    description = serializers.CharField()

                class RowSlotOutput(serializers.Serializer):
                    key = serializers.CharField()
                    position = serializers.IntegerField()
                    error_type = serializers.CharField()
                    description = serializers.CharField()
                    weight = serializers.IntegerField()

                position = serializers.IntegerField()
                keysteps = KeystepOutput(many=True)
                slots = RowSlotOutput(many=True)

            name = serializers.CharField()
            position = serializers.IntegerField()
            total = serializers.IntegerField()
            rows = RowOutput(many=True)

        id = serializers.IntegerField()
        code = serializers.CharField()
        index = serializers.IntegerField()
        name = serializers.CharField()
        graph_version = serializers.IntegerField()
        total_weight = serializers.IntegerField()
        slot_count = serializers.IntegerField()
        phases = PhaseOutput(many=True)

    @extend_schema(responses={200: OutputSerializer, 404: ErrorSerializer})
    def get(self, request, action_id):
        action = selectors.action_get(action_id=action_id)
        phases = []
        for phase in action.phases.all():
            rows = [{"position": row.position,
                     "keysteps": [{"code": rk.keystep.code, "description": rk.keystep.description}
                                  for rk in row.row_keysteps.all()],
                     "slots": [{"key": s.key, "position": s.position, "error_type": s.error_type.code,
                                "description": s.error_type.description, "weight": s.weight}
                               for s in row.slots.all()]}
                    for row in phase.rows.all()]
            phases.append({"name": phase.name, "position": phase.position, "rows": rows,
                           "total": sum(s["weight"] for r in rows for s in r["slots"])})
        body = {"id": action.pk, "code": action.code, "index": action.index, "name": action.name,
                "graph_version": action.graph_version.number, "total_weight": action.total_weight,
                "slot_count": sum(len(r["slots"]) for p in phases for r in p["rows"]), "phases": phases}
        return Response(self.OutputSerializer(body).data)


class KgErrorTypeListApi(APIView):
    """The graph's error types with weights and their current feedback text (null when none)."""

    class OutputSerializer(serializers.Serializer):
        code = serializers.CharField()
        description = serializers.CharField()
        weight = serializers.IntegerField()
        feedback = serializers.CharField(allow_null=True)
        feedback_version = serializers.IntegerField(allow_null=True)

    @extend_schema(parameters=[GRAPH_VERSION_PARAM], responses=OutputSerializer(many=True))
    def get(self, request):
        version = _graph_version_param(request)
        texts = selectors.feedback_current_map()
        rows = [{"code": e.code, "description": e.description, "weight": e.weight,
                 "feedback": texts[e.code].text if e.code in texts else None,
                 "feedback_version": texts[e.code].version if e.code in texts else None}
                for e in selectors.error_type_list(graph_version=version)]
        return Response(self.OutputSerializer(rows, many=True).data)


class KgScoreApi(APIView):
    """Score a slot set of one action (FLEX Eq. 1). Answers what ``manage.py kg_score`` prints."""

    class InputSerializer(serializers.Serializer):
        action = serializers.CharField(max_length=128, help_text="Action name or code (A01).")
        slots = SLOT_LIST
        graph_version = serializers.IntegerField(required=False, allow_null=True, min_value=1)

    @extend_schema(request=InputSerializer, responses={200: KgScoreOutput, 400: ErrorSerializer, 404: ErrorSerializer})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        body = slot_set_score(action=data["action"], slots=data["slots"],
                              graph_version_number=data.get("graph_version"))
        return Response(KgScoreOutput(body).data)


class KgActionRef(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()


class KgScoredSet(serializers.Serializer):
    slots = serializers.ListField(child=serializers.CharField())
    penalty = serializers.IntegerField()
    total = serializers.IntegerField()
    score = serializers.FloatField()


class FlexSampleDetailApi(APIView):
    """A FLEX sample's state. Annotators and reviewers see their own work and the counts only;
    curators and admins also see every set, the proposal, the final set and its score."""

    class OutputSerializer(serializers.Serializer):
        class Mine(serializers.Serializer):
            slots = serializers.ListField(child=serializers.CharField())
            approve = serializers.BooleanField(required=False)
            created_at = serializers.DateTimeField()

        clip = serializers.IntegerField()
        dataset = serializers.IntegerField()
        action = KgActionRef()
        graph_version = serializers.IntegerField()
        status = serializers.CharField(help_text="stage1_open, stage2_open, tied, final or graph_mismatch.")
        stage1_count = serializers.IntegerField()
        review_count = serializers.IntegerField()
        class Labels(serializers.Serializer):
            class Stage1(serializers.Serializer):
                annotator = serializers.IntegerField()
                slots = serializers.ListField(child=serializers.CharField())
                created_at = serializers.DateTimeField()

            class Review(serializers.Serializer):
                reviewer = serializers.IntegerField()
                approve = serializers.BooleanField()
                slots = serializers.ListField(child=serializers.CharField())
                created_at = serializers.DateTimeField()

            stage1 = Stage1(many=True)
            reviews = Review(many=True)
            proposal = serializers.ListField(child=serializers.CharField(), allow_null=True)
            final = serializers.ListField(child=serializers.CharField(), allow_null=True)
            tied = serializers.ListField(child=serializers.CharField())
            score = KgScoredSet(allow_null=True)

        my_stage1 = Mine(allow_null=True)
        my_review = Mine(allow_null=True)
        labels = Labels(required=False, help_text="Curators and admins only.")

    @extend_schema(responses={200: OutputSerializer, 404: ErrorSerializer})
    def get(self, request, clip_id):
        sample = selectors.sample_get_for_user(user=request.user, clip_id=clip_id)
        return Response(self.OutputSerializer(sample_view(user=request.user, sample=sample)).data)


class FlexSubmissionOutput(serializers.Serializer):
    client_key = serializers.CharField()
    clip = serializers.IntegerField()
    stage = serializers.IntegerField()
    graph_version = serializers.IntegerField()
    slots = serializers.ListField(child=serializers.CharField(), help_text="Canonical keys stored.")
    stored = serializers.IntegerField()
    replayed = serializers.BooleanField()
    approve = serializers.BooleanField(required=False)
    review_count = serializers.IntegerField(required=False)
    status = serializers.CharField(required=False)


def _submission_response(result: dict, replayed: bool) -> Response:
    body = FlexSubmissionOutput(dict(result, replayed=replayed)).data
    return Response(body, status=status.HTTP_200_OK if replayed else status.HTTP_201_CREATED)


class FlexStage1SubmitApi(APIView):
    """Submit your stage-1 error slots for a sample (an empty list: no error seen).

    Needs a ``flex_stage1`` assignment. Idempotent by ``client_key``: a retry with the same key and
    body returns the first answer (``replayed: true``); the same key with another body is a 409.
    """

    permission_classes = [IsAnnotator]

    class InputSerializer(serializers.Serializer):
        client_key = CLIENT_KEY
        slots = SLOT_LIST

    @extend_schema(request=InputSerializer, responses={201: FlexSubmissionOutput, 200: FlexSubmissionOutput, **ERRORS})
    def post(self, request, clip_id):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        sample = selectors.sample_get_for_user(user=request.user, clip_id=clip_id)
        result, replayed = stage1_submit(user=request.user, sample=sample,
                                         client_key=serializer.validated_data["client_key"],
                                         slots=serializer.validated_data["slots"])
        return _submission_response(result, replayed)


class FlexReviewDetailApi(APIView):
    """For a stage-2 reviewer: the three stage-1 sets side by side (anonymised A, B, C), the
    per-slot votes and the proposal with its score. Never shown to a stage-1 annotator."""

    permission_classes = [IsReviewer]

    class OutputSerializer(serializers.Serializer):
        class Stage1Set(KgScoredSet):
            label = serializers.CharField()
            created_at = serializers.DateTimeField()

        class Vote(serializers.Serializer):
            slot = serializers.CharField()
            votes = serializers.IntegerField()

        class MyReview(serializers.Serializer):
            approve = serializers.BooleanField()
            slots = serializers.ListField(child=serializers.CharField())
            created_at = serializers.DateTimeField()

        clip = serializers.IntegerField()
        action = KgActionRef()
        graph_version = serializers.IntegerField()
        stage1 = Stage1Set(many=True)
        votes = Vote(many=True)
        proposal = KgScoredSet(allow_null=True)
        review_count = serializers.IntegerField()
        status = serializers.CharField()
        my_review = MyReview(allow_null=True)

    @extend_schema(responses={200: OutputSerializer, **ERRORS})
    def get(self, request, clip_id):
        sample = selectors.sample_get_for_user(user=request.user, clip_id=clip_id)
        return Response(self.OutputSerializer(review_view(user=request.user, sample=sample)).data)


class FlexStage2SubmitApi(APIView):
    """Submit your stage-2 review: ``approve: true`` keeps the proposal; ``approve: false`` with
    ``slots`` sends your corrected set. Needs a ``flex_stage2`` assignment and a complete stage 1.
    Idempotent by ``client_key``."""

    permission_classes = [IsReviewer]

    class InputSerializer(serializers.Serializer):
        client_key = CLIENT_KEY
        approve = serializers.BooleanField()
        slots = serializers.ListField(child=serializers.CharField(max_length=40), required=False, allow_null=True,
                                      allow_empty=True, max_length=200)

    @extend_schema(request=InputSerializer, responses={201: FlexSubmissionOutput, 200: FlexSubmissionOutput, **ERRORS})
    def post(self, request, clip_id):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        sample = selectors.sample_get_for_user(user=request.user, clip_id=clip_id)
        result, replayed = stage2_submit(user=request.user, sample=sample, client_key=data["client_key"],
                                         approve=data["approve"], slots=data.get("slots"))
        return _submission_response(result, replayed)


class FlexSampleFeedbackApi(APIView):
    """Corrective feedback for a scored sample: the curated texts of its marked error types, in
    phase order (from the current label set, else from the raw labels if the sample is final)."""

    permission_classes = [IsCurator]

    class OutputSerializer(serializers.Serializer):
        class Item(serializers.Serializer):
            phase = serializers.CharField()
            slot = serializers.CharField()
            error_type = serializers.CharField()
            weight = serializers.IntegerField()
            description = serializers.CharField()
            feedback = serializers.CharField(allow_null=True)
            feedback_version = serializers.IntegerField(allow_null=True)

        clip = serializers.IntegerField()
        action = serializers.CharField()
        graph_version = serializers.IntegerField()
        source = serializers.CharField(help_text="label_set or raw_labels.")
        label_set = serializers.IntegerField(allow_null=True)
        total = serializers.IntegerField()
        penalty = serializers.IntegerField()
        score = serializers.FloatField()
        items = Item(many=True)

    @extend_schema(responses={200: OutputSerializer, **ERRORS})
    def get(self, request, clip_id):
        sample = selectors.sample_get_for_user(user=request.user, clip_id=clip_id)
        return Response(self.OutputSerializer(sample_feedback(sample=sample)).data)


class FlexSampleTruthApi(APIView):
    """Hidden true slots of a synthetic FLEX sample. Curators and admins only."""

    permission_classes = [IsCurator]

    class OutputSerializer(serializers.Serializer):
        clip = serializers.IntegerField(source="clip_id")
        graph_version = serializers.IntegerField(source="graph_version.number")
        slot_keys = serializers.ListField(child=serializers.CharField())
        penalty = serializers.IntegerField()
        score = serializers.FloatField()

    @extend_schema(responses={200: OutputSerializer, 404: ErrorSerializer})
    def get(self, request, clip_id):
        sample = selectors.sample_get_for_user(user=request.user, clip_id=clip_id)
        truth = FlexTrueSlots.objects.select_related("graph_version").filter(clip=sample.clip).first()
        if truth is None:
            raise NotFoundError("This sample has no hidden truth (not synthetic).", code="truth_not_found")
        return Response(self.OutputSerializer(truth).data)


class FlexLabelSetOutput(serializers.Serializer):
    id = serializers.IntegerField()
    dataset = serializers.IntegerField(source="dataset_id")
    dataset_name = serializers.CharField(source="dataset.name")
    number = serializers.IntegerField()
    graph_version = serializers.IntegerField(source="graph_version.number")
    is_current = serializers.BooleanField()
    params = serializers.DictField()
    code_version = serializers.CharField()
    counts = serializers.DictField()
    summary = serializers.DictField()
    input_hash = serializers.CharField()
    job = serializers.IntegerField(source="job_id", allow_null=True)
    created_at = serializers.DateTimeField()


class FlexLabelSetListApi(APIView):
    """FLEX label sets (newest first). Compute a new one with the ``score_flex`` job."""

    permission_classes = [IsCurator]

    @extend_schema(parameters=[OpenApiParameter("dataset", int)], responses=FlexLabelSetOutput(many=True))
    def get(self, request):
        qs = selectors.label_set_list(dataset_id=optional_int(request, "dataset"))
        return paginated_response(request=request, view=self, queryset=qs, serializer_class=FlexLabelSetOutput)


class FlexLabelSetDetailApi(APIView):
    permission_classes = [IsCurator]

    @extend_schema(responses={200: FlexLabelSetOutput, 404: ErrorSerializer})
    def get(self, request, label_set_id):
        return Response(FlexLabelSetOutput(selectors.label_set_get(label_set_id=label_set_id)).data)


class FlexLabelSetSampleListApi(APIView):
    permission_classes = [IsCurator]

    class OutputSerializer(serializers.Serializer):
        clip = serializers.IntegerField(source="clip_id")
        action_index = serializers.IntegerField(allow_null=True)
        status = serializers.CharField()
        n_stage1 = serializers.IntegerField()
        n_reviews = serializers.IntegerField()
        proposal = serializers.ListField(child=serializers.CharField(), allow_null=True)
        final = serializers.ListField(child=serializers.CharField(), allow_null=True)
        tied = serializers.ListField(child=serializers.CharField(), allow_null=True)
        total = serializers.IntegerField(allow_null=True)
        penalty = serializers.IntegerField(allow_null=True)
        score = serializers.FloatField(allow_null=True)

    @extend_schema(
        parameters=[OpenApiParameter("status", str, enum=[s.value for s in FlexSampleLabel.Status]),
                    OpenApiParameter("action", int, description="Action index (1 = A01).")],
        responses=OutputSerializer(many=True),
    )
    def get(self, request, label_set_id):
        label_set = selectors.label_set_get(label_set_id=label_set_id)
        qs = selectors.label_set_samples(label_set=label_set, status=request.query_params.get("status"),
                                         action_index=optional_int(request, "action"))
        return paginated_response(request=request, view=self, queryset=qs, serializer_class=self.OutputSerializer)


class FlexLabelSetMakeCurrentApi(APIView):
    """Make this label set its dataset's current one."""

    permission_classes = [IsCurator]

    @extend_schema(request=None, responses={200: FlexLabelSetOutput, 404: ErrorSerializer})
    def post(self, request, label_set_id):
        label_set = selectors.label_set_get(label_set_id=label_set_id)
        return Response(FlexLabelSetOutput(flex_label_set_make_current(label_set=label_set)).data)


class FlexAgreementApi(APIView):
    """Krippendorff's alpha on slot marks per action and per error type: among stage-1 annotators,
    among reviewers, stage-1 vs final, proposal vs final; plus changed-slot and mark rates."""

    permission_classes = [IsCurator]

    class OutputSerializer(serializers.Serializer):
        dataset = serializers.IntegerField()
        graph_version = serializers.IntegerField()
        samples = serializers.IntegerField()
        final_samples = serializers.IntegerField()
        overall = serializers.DictField()
        per_action = serializers.ListField(child=serializers.DictField())
        per_error_type = serializers.ListField(child=serializers.DictField())

    @extend_schema(parameters=[OpenApiParameter("dataset", int, required=True), GRAPH_VERSION_PARAM],
                   responses={200: OutputSerializer, 400: ErrorSerializer, 404: ErrorSerializer})
    def get(self, request):
        dataset_id = optional_int(request, "dataset")
        if dataset_id is None:
            raise serializers.ValidationError({"dataset": ["Required."]})
        dataset = dataset_get_for_user(user=request.user, dataset_id=dataset_id)
        body = flex_agreement_compute(dataset=dataset, graph_version=_graph_version_param(request))
        return Response(self.OutputSerializer(body).data)


class KgFeedbackTextOutput(serializers.Serializer):
    error_code = serializers.CharField()
    version = serializers.IntegerField()
    text = serializers.CharField()
    note = serializers.CharField()
    created_by = serializers.CharField(source="created_by.username", default=None)
    created_at = serializers.DateTimeField()


class FeedbackTextListApi(APIView):
    """The current (newest) feedback text of every error type that has one."""

    @extend_schema(responses=KgFeedbackTextOutput(many=True))
    def get(self, request):
        texts = sorted(selectors.feedback_current_map().values(), key=lambda t: t.error_code)
        return Response(KgFeedbackTextOutput(texts, many=True).data)


class FeedbackTextHistoryApi(APIView):
    """Every version of one error type's feedback text, newest first."""

    class OutputSerializer(serializers.Serializer):
        error_code = serializers.CharField()
        description = serializers.CharField()
        weight = serializers.IntegerField()
        current_version = serializers.IntegerField(allow_null=True)
        versions = KgFeedbackTextOutput(many=True)

    @extend_schema(responses={200: OutputSerializer, 404: ErrorSerializer})
    def get(self, request, code):
        code = code.upper()
        graph = compiled_graph(selectors.graph_version_current())
        if code not in graph.error_types:
            raise NotFoundError(f"Unknown error type {code!r}.", code="unknown_error_type")
        versions = list(selectors.feedback_history(error_code=code))
        description, weight = graph.error_types[code]
        body = {"error_code": code, "description": description, "weight": weight,
                "current_version": versions[0].version if versions else None, "versions": versions}
        return Response(self.OutputSerializer(body).data)


class FeedbackTextCreateApi(APIView):
    """Write a new version of an error type's feedback text (curators). Nothing is overwritten.

    Send ``based_on``: the version you edited (null for the first text). If someone saved a newer
    version meanwhile the answer is 409 ``stale_feedback``.
    """

    permission_classes = [IsCurator]

    class InputSerializer(serializers.Serializer):
        text = serializers.CharField(max_length=FEEDBACK_MAX_CHARS, trim_whitespace=True)
        based_on = serializers.IntegerField(required=False, allow_null=True, min_value=1, default=None)
        note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")

    @extend_schema(request=InputSerializer, responses={201: KgFeedbackTextOutput, **ERRORS})
    def post(self, request, code):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        created = feedback_text_create(error_code=code, text=data["text"], user=request.user,
                                       based_on=data["based_on"], note=data["note"])
        return Response(KgFeedbackTextOutput(created).data, status=status.HTTP_201_CREATED)
