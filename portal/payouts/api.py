"""API for department systems: application states as JSON lines (``POST /api/applications/``)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.parsers import BaseParser
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.payouts import applications


class StreamedJsonLines(BaseParser):
    """Hands the view the request stream itself: the lines are read one by one, never as one string."""

    media_type = "application/x-ndjson"

    def parse(self, stream, media_type=None, parser_context=None):
        return stream


ReportAnswer = inline_serializer(
    "ApplicationReportResult",
    {
        "summary": serializers.CharField(),
        "received": serializers.IntegerField(),
        "accepted": serializers.IntegerField(help_text="状态有更新的行"),
        "unchanged": serializers.IntegerField(help_text="重复上报、未改变任何状态的行"),
        "refused": serializers.IntegerField(),
        "errors": inline_serializer(
            "ApplicationLineError",
            {
                "line": serializers.IntegerField(),
                "external_id": serializers.CharField(),
                "reason": serializers.CharField(),
            },
            many=True,
        ),
    },
)


class ApplicationReportView(APIView):
    """Department systems report application states, one JSON object per line (``application/x-ndjson``).

    Keys: ``uscc``, ``policy`` (the policy's id), ``external_id`` (the department system's number),
    ``status`` (已受理 / 审核中 / 已公示 / 已拨付 / 未通过, or received / reviewing / publicized / paid /
    rejected), ``reason`` (required for 未通过), ``amount`` (元), ``at`` (ISO date or time). A department may
    report only on its own policies; repeating a line changes nothing; states only move forward. Every
    refused line is answered with its line number and reason; the others are recorded.
    """

    permission_classes = [permissions.IsAuthenticated]
    token_scopes = {"POST": "applications:write", "GET": "applications:write"}  # core/auth.py
    parser_classes = [StreamedJsonLines]

    @extend_schema(
        request={"application/x-ndjson": {"type": "string"}},
        responses={200: ReportAnswer},
        examples=[
            OpenApiExample(
                "两行",
                request_only=True,
                media_type="application/x-ndjson",
                value='{"uscc": "91320214MA1XXXXXXX", "policy": 12, "external_id": "KJ-2026-0001", "status": "已受理", '
                '"at": "2026-03-01"}\n{"uscc": "91320214MA1XXXXXXX", "policy": 12, "external_id": "KJ-2026-0001", '
                '"status": "已拨付", "amount": 200000, "at": "2026-04-20"}',
            )
        ],
    )
    def post(self, request):
        stream = request.data if hasattr(request.data, "read") else iter(())
        try:
            result = applications.applications_report(user=request.user, lines=applications.json_lines(stream))
        except PermissionDenied as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
        return Response({"summary": result.summary(), **result.__dict__})
