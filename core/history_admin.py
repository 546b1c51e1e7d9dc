"""History pages (django-simple-history) that staff can read: Chinese headers, every value in words (a
status as 待审核, not ``pending``; 是/否; （空）), and one word for what each change did (提交审核, 退回修改 …).

They are read-only: a record whose status moves through services (a policy's review) is never "reverted"
to an old version from the history page, which would set its status without the service's checks.
"""

from __future__ import annotations

import datetime
import json

from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils import timezone
from simple_history.admin import SimpleHistoryAdmin
from simple_history.template_utils import HistoricalRecordContextHelper, ObjDiffDisplay

EMPTY = "（空）"
HISTORY_TYPES = {"+": "新建", "~": "修改", "-": "删除"}


def readable_value(field: models.Field, value) -> str:
    """One field's value as staff read it: choices by their label, dates as dates, lists joined."""
    if value is None or value == "" or value == [] or value == {}:
        return EMPTY
    if isinstance(value, bool):
        return "是" if value else "否"
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, datetime.datetime):
        return f"{timezone.localtime(value) if timezone.is_aware(value) else value:%Y-%m-%d %H:%M}"
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        return "、".join(map(str, value))
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


class ReadableDiffDisplay(ObjDiffDisplay):
    def shortened_str(self, prefix: str, num_skipped_chars: int, suffix: str) -> str:
        return f"{prefix}…（略 {num_skipped_chars} 字）…{suffix}"


class ReadableHistoryHelper(HistoricalRecordContextHelper):
    """A change's old and new values in words."""

    def prepare_delta_change_value(self, change, value):
        field = self.model._meta.get_field(change.field)
        return readable_value(field, super().prepare_delta_change_value(change, value))

    def get_obj_diff_display(self) -> ObjDiffDisplay:
        return ReadableDiffDisplay(max_length=self.max_displayed_delta_change_chars)


class ReadableHistoryAdmin(SimpleHistoryAdmin):
    """``SimpleHistoryAdmin`` whose history list reads in Chinese and cannot revert.

    ``history_list_display`` names admin methods (with ``@admin.display(description=...)``) or model
    fields; their descriptions or verbose names head the columns. ``history_action`` says in a word or two
    what a version did, given the version before it.
    """

    object_history_list_template = "admin/readable_history_list.html"

    def history_action(self, record, older) -> str:
        return HISTORY_TYPES.get(record.history_type, record.history_type)

    def history_headers(self) -> list[tuple[str, str]]:
        headers = []
        for name in self.history_list_display:
            method = getattr(self, name, None)
            if method is not None and hasattr(method, "short_description"):
                headers.append((name, str(method.short_description)))
            else:
                headers.append((name, str(self.model._meta.get_field(name).verbose_name)))
        return headers

    def history_view(self, request, object_id, extra_context=None):
        context = {"history_headers": self.history_headers(), **(extra_context or {})}
        return super().history_view(request, object_id, context)

    def get_historical_record_context_helper(self, request, historical_record):
        return ReadableHistoryHelper(self.model, historical_record)

    def set_history_delta_changes(self, request, historical_records, foreign_keys_are_objs=True):
        super().set_history_delta_changes(request, historical_records, foreign_keys_are_objs)
        records = list(historical_records)  # newest first
        for newer, older in zip(records, records[1:] + [None], strict=True):
            if older is None and newer.history_type != "+":
                older = newer.prev_record  # the last on this page: its predecessor is on the next page
            newer.history_action = self.history_action(newer, older)

    def revert_disabled(self, request, obj=None):
        return True

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST":
            raise PermissionDenied("历史版本只能查看，不能还原。")
        return super().history_form_view(request, object_id, version_id, extra_context)
