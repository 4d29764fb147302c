"""REST views for the work queue, error segments and timestamped feedback notes."""
from collections.abc import Callable

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.apis import CLIENT_KEY, SubmissionOutput
from annotation.models import Assignment
from annotation.roles import IsAnnotator, IsCurator
from annotation.services import queue as queue_service
from annotation.services import segments as seg
from config.api import optional_int
from config.exceptions import DomainError
from datasets.models import Dataset
from datasets.selectors import clip_get_for_user, dataset_get_for_user


def _dataset_for_queue(dataset_id) -> Dataset:
    # Any annotator may ask any dataset for work: holding no assignment yet is the normal case,
    # so this lookup is not scoped like the data reads are. Only the id and name are revealed.
    return get_object_or_404(Dataset, pk=dataset_id)


class QueueItemOutput(serializers.Serializer):
    class ClipInfo(serializers.Serializer):
        id = serializers.IntegerField()
        external_id = serializers.CharField()
        dataset = serializers.IntegerField(source="dataset_id")
        exercise = serializers.IntegerField(source="exercise_id")
        exercise_name = serializers.CharField(source="exercise.name")
        fps = serializers.FloatField()
        frame_count = serializers.IntegerField()
        has_pose = serializers.SerializerMethodField()
        has_video = serializers.SerializerMethodField()

        def get_has_pose(self, clip) -> bool:
            return bool(clip.pose_file)

        def get_has_video(self, clip) -> bool:
            return bool(clip.video_file)

    assignment = serializers.IntegerField(source="pk")
    kind = serializers.CharField()
    state = serializers.CharField()
    lease_expires_at = serializers.DateTimeField(allow_null=True)
    clip = ClipInfo()


_DATETIME = serializers.DateTimeField()


def queue_item(assignment: Assignment) -> dict:
    """What ``QueueItemOutput`` makes of ``assignment``, built directly: ``next`` is the call
    fifty annotators make at once, and a serializer copies its fields on every use. A test holds
    the two equal."""
    clip = assignment.clip
    return {
        "assignment": assignment.pk, "kind": assignment.kind, "state": assignment.state,
        "lease_expires_at": _DATETIME.to_representation(assignment.lease_expires_at)
        if assignment.lease_expires_at else None,
        "clip": {"id": clip.pk, "external_id": clip.external_id, "dataset": clip.dataset_id,
                 "exercise": clip.exercise_id, "exercise_name": clip.exercise.name, "fps": clip.fps,
                 "frame_count": clip.frame_count, "has_pose": bool(clip.pose_file),
                 "has_video": bool(clip.video_file)},
    }


class QueueNextApi(APIView):
    """Lease the next item of a kind in a dataset (idempotent while your lease is valid).

    Answers ``{"item": null}`` when nothing of that kind is left for you.
    """

    # Roles are checked per kind by the service (reviewers take only flex_stage2 items).

    class InputSerializer(serializers.Serializer):
        dataset = serializers.IntegerField(min_value=1)
        kind = serializers.ChoiceField(choices=Assignment.Kind.choices)

    class OutputSerializer(serializers.Serializer):
        item = QueueItemOutput(allow_null=True)

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        dataset = _dataset_for_queue(data["dataset"])
        assignment = queue_service.queue_next(user=request.user, dataset=dataset, kind=data["kind"])
        return Response({"item": queue_item(assignment) if assignment is not None else None})


class QueueReleaseApi(APIView):
    """Give a leased item back (skip it). It goes to another annotator, never back to you."""

    class InputSerializer(serializers.Serializer):
        assignment = serializers.IntegerField(min_value=1)

    @extend_schema(request=InputSerializer, responses=QueueItemOutput)
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        assignment = queue_service.assignment_get_for_user(
            user=request.user, assignment_id=serializer.validated_data["assignment"])
        assignment = queue_service.queue_release(user=request.user, assignment=assignment)
        return Response(QueueItemOutput(assignment).data)


class QueueCompleteApi(APIView):
    """Close a severity lease after its votes were stored with ``votes/submit/``. Idempotent."""

    class InputSerializer(serializers.Serializer):
        assignment = serializers.IntegerField(min_value=1)

    @extend_schema(request=InputSerializer, responses=QueueItemOutput)
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        assignment = queue_service.assignment_get_for_user(
            user=request.user, assignment_id=serializer.validated_data["assignment"])
        assignment = queue_service.assignment_complete(user=request.user, assignment=assignment)
        return Response(QueueItemOutput(assignment).data)


class QueueSendBackApi(APIView):
    """Curators: ask for fresh labels of a kind on clips (e.g. clips whose annotators disagree)."""

    permission_classes = [IsCurator]

    class InputSerializer(serializers.Serializer):
        dataset = serializers.IntegerField(min_value=1)
        kind = serializers.ChoiceField(choices=Assignment.Kind.choices)
        clips = serializers.ListField(child=serializers.IntegerField(min_value=1), allow_empty=False,
                                      max_length=10000)

    class OutputSerializer(serializers.Serializer):
        sent_back = serializers.IntegerField()

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        dataset = dataset_get_for_user(user=request.user, dataset_id=data["dataset"])
        count = queue_service.clip_send_back(dataset=dataset, clip_ids=data["clips"], kind=data["kind"])
        return Response(self.OutputSerializer({"sent_back": count}).data)


class QueueProgressApi(APIView):
    """Curators: per kind, how many clips are complete, in progress, and the live leases."""

    permission_classes = [IsCurator]

    class OutputSerializer(serializers.Serializer):
        quota = serializers.IntegerField()
        clips = serializers.IntegerField()
        complete = serializers.IntegerField()
        in_progress = serializers.IntegerField()
        submitted = serializers.IntegerField()
        leased = serializers.IntegerField()
        completion = serializers.FloatField()

    @extend_schema(parameters=[OpenApiParameter("dataset", int, required=True)],
                   responses=OpenApiTypes.OBJECT)
    def get(self, request):
        dataset_id = optional_int(request, "dataset")
        if dataset_id is None:
            raise DomainError("Give ?dataset=<id>.", code="dataset_required")
        dataset = dataset_get_for_user(user=request.user, dataset_id=dataset_id)
        progress = queue_service.queue_progress(dataset=dataset)
        return Response({k: self.OutputSerializer(v).data for k, v in progress.items()})


class QueueOverviewApi(APIView):
    """Per dataset, the kinds of work you may take and how many items of each are open for you."""

    class OutputSerializer(serializers.Serializer):
        dataset = serializers.IntegerField()
        name = serializers.CharField()
        kind = serializers.CharField()
        open = serializers.IntegerField()

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request):
        rows = []
        for dataset in Dataset.objects.order_by("name"):
            for kind in queue_service.kinds_for_dataset(dataset):
                if queue_service.may_take(request.user, kind):
                    rows.append({"dataset": dataset.pk, "name": dataset.name, "kind": kind,
                                 "open": queue_service.queue_open_count(user=request.user, dataset=dataset,
                                                                        kind=kind)})
        return Response(self.OutputSerializer(rows, many=True).data)


# ---------------------------------------------------------------- shared by segments and notes
#
# Segments and notes are both rows an annotator writes on a clip under an open lease, with the same
# three views. The bases hold them once; a subclass names its serializers and services, and
# ``row_name`` ("segment", "note") is the URL's ``<row_name>_id``, the services' keyword and, with an
# "s", the submitted list. ``__init_subclass__`` gives each subclass the schema of its own
# serializers. Comments, not docstrings, on the bases: the schema would take a base's docstring
# as every subclass's description.

def _validated(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _submission_response(result: dict, replayed: bool) -> Response:
    # 201 for a new submission, 200 when the same ``client_key`` was already stored.
    return Response(dict(result, replayed=replayed), status=status.HTTP_200_OK if replayed else 201)


class _PartialInput:
    # An edit (PATCH) sends only the fields it changes. (A comment, not a docstring: the schema
    # would take a docstring as the serializer's description.)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)


class _ClipRowsApi(APIView):
    permission_classes = [IsAnnotator]
    row_name: str
    Output: type[serializers.Serializer]
    InputSerializer: type[serializers.Serializer]


class _ClipRowListCreateApi(_ClipRowsApi):
    # GET: the rows of a clip you may see (curators: everyone's, ``?annotator=``).
    # POST: add one row under your open lease (idempotent by ``client_key``).
    list_for_user: Callable[..., QuerySet]  # (*, user, clip, annotator_id)
    create: Callable[..., tuple[dict, bool]]  # (*, user, clip, client_key, **fields)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        extend_schema_view(
            get=extend_schema(parameters=[OpenApiParameter("annotator", int)], responses=cls.Output(many=True)),
            post=extend_schema(request=cls.InputSerializer, responses={201: OpenApiTypes.OBJECT}),
        )(cls)

    def get(self, request, clip_id):
        clip = clip_get_for_user(user=request.user, clip_id=clip_id)
        rows = self.list_for_user(user=request.user, clip=clip, annotator_id=optional_int(request, "annotator"))
        return Response(self.Output(rows, many=True).data)

    def post(self, request, clip_id):
        data = _validated(self.InputSerializer, request)
        clip = clip_get_for_user(user=request.user, clip_id=clip_id)
        return _submission_response(*self.create(user=request.user, clip=clip, **data))


class _ClipRowUpdateDeleteApi(_ClipRowsApi):
    # PATCH: edit one of your rows while the lease is open. DELETE: remove it.
    get_for_user: Callable  # (*, user, clip, <row_name>_id)
    update: Callable  # (*, user, <row_name>, **fields)
    delete_row: Callable  # (*, user, <row_name>)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        extend_schema_view(
            patch=extend_schema(request=cls.InputSerializer, responses=cls.Output),
            delete=extend_schema(responses={204: None}),
        )(cls)

    def _own_row(self, request, clip_id, row_id: dict):
        # row_id: the URL's {"<row_name>_id": ...}, the keyword the service takes it by
        clip = clip_get_for_user(user=request.user, clip_id=clip_id)
        return self.get_for_user(user=request.user, clip=clip, **row_id)

    def patch(self, request, clip_id, **row_id):
        data = _validated(self.InputSerializer, request)
        row = self._own_row(request, clip_id, row_id)
        row = self.update(user=request.user, **{self.row_name: row}, **data)
        return Response(self.Output(row).data)

    def delete(self, request, clip_id, **row_id):
        row = self._own_row(request, clip_id, row_id)
        self.delete_row(user=request.user, **{self.row_name: row})
        return Response(status=status.HTTP_204_NO_CONTENT)


class _ClipRowsSubmitApi(_ClipRowsApi):
    # POST: your full list of rows for a clip; closes the item (idempotent by ``client_key``).
    submit: Callable[..., tuple[dict, bool]]  # (*, user, clip, client_key, <row_name>s)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        extend_schema_view(
            post=extend_schema(request=cls.InputSerializer, responses={201: SubmissionOutput, 200: SubmissionOutput}),
        )(cls)

    def post(self, request, clip_id):
        data = _validated(self.InputSerializer, request)
        clip = clip_get_for_user(user=request.user, clip_id=clip_id)
        rows = self.row_name + "s"
        return _submission_response(*self.submit(
            user=request.user, clip=clip, client_key=data["client_key"], **{rows: [dict(r) for r in data[rows]]}))


# ---------------------------------------------------------------- error segments

class SegmentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    annotator = serializers.IntegerField(source="annotator_id")
    error_type = serializers.IntegerField(source="error_type_id")
    error_code = serializers.CharField(source="error_type.code")
    start_frame = serializers.IntegerField()
    end_frame = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class _SegmentFields(serializers.Serializer):
    error_type = serializers.IntegerField(min_value=1)
    start_frame = serializers.IntegerField(min_value=0, max_value=10**7)
    end_frame = serializers.IntegerField(min_value=0, max_value=10**7)


class _SegmentApi(_ClipRowsApi):
    row_name = "segment"
    Output = SegmentOutput


class SegmentListCreateApi(_SegmentApi, _ClipRowListCreateApi):
    """GET: your error segments on a clip (curators: everyone's, ``?annotator=``).
    POST: add one segment under your open ``segments`` lease (idempotent by ``client_key``)."""

    class InputSerializer(_SegmentFields):
        client_key = CLIENT_KEY

    list_for_user = staticmethod(seg.segment_list_for_user)
    create = staticmethod(seg.segment_create)


class SegmentUpdateDeleteApi(_SegmentApi, _ClipRowUpdateDeleteApi):
    """PATCH: edit one of your segments while the lease is open. DELETE: remove it."""

    class InputSerializer(_PartialInput, _SegmentFields):
        pass

    get_for_user = staticmethod(seg.segment_get_for_user)
    update = staticmethod(seg.segment_update)
    delete_row = staticmethod(seg.segment_delete)


class SegmentSubmitApi(_SegmentApi, _ClipRowsSubmitApi):
    """Submit your full list of segments for a clip and close the item (idempotent by key).

    Replaces whatever you added before on this clip; an empty list means "no error seen"."""

    class InputSerializer(serializers.Serializer):
        client_key = CLIENT_KEY
        segments = _SegmentFields(many=True, allow_empty=True, max_length=seg.MAX_ROWS_PER_CLIP)

    submit = staticmethod(seg.segments_submit)


# ---------------------------------------------------------------- feedback notes

class FeedbackOutput(serializers.Serializer):
    id = serializers.IntegerField()
    annotator = serializers.IntegerField(source="annotator_id")
    frame = serializers.IntegerField()
    text = serializers.CharField(help_text="Plain text; escape it when you display it.")
    created_at = serializers.DateTimeField()


class _NoteFields(serializers.Serializer):
    frame = serializers.IntegerField(min_value=0, max_value=10**7)
    text = serializers.CharField(max_length=seg.MAX_TEXT, trim_whitespace=True)


class _NoteApi(_ClipRowsApi):
    row_name = "note"
    Output = FeedbackOutput


class FeedbackListCreateApi(_NoteApi, _ClipRowListCreateApi):
    """GET: your feedback notes on a clip (curators: everyone's). POST: add one (idempotent)."""

    class InputSerializer(_NoteFields):
        client_key = CLIENT_KEY

    list_for_user = staticmethod(seg.feedback_list_for_user)
    create = staticmethod(seg.feedback_create)


class FeedbackUpdateDeleteApi(_NoteApi, _ClipRowUpdateDeleteApi):
    class InputSerializer(_PartialInput, _NoteFields):
        pass

    get_for_user = staticmethod(seg.feedback_get_for_user)
    update = staticmethod(seg.feedback_update)
    delete_row = staticmethod(seg.feedback_delete)


class FeedbackSubmitApi(_NoteApi, _ClipRowsSubmitApi):
    """Submit your full list of feedback notes for a clip and close the item (idempotent by key)."""

    class InputSerializer(serializers.Serializer):
        client_key = CLIENT_KEY
        notes = _NoteFields(many=True, allow_empty=True, max_length=seg.MAX_ROWS_PER_CLIP)

    submit = staticmethod(seg.feedback_submit)
