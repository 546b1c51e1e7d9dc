import pytest
from django.db import IntegrityError, connection, transaction

from core.db import copy_rows, execute_prepared, foreign_keys_validated_once
from enterprises.models import Enterprise, EnterpriseTag, PortraitTag
from tests.factories import EnterpriseFactory

pytestmark = pytest.mark.django_db


def _foreign_key_count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'", [table])
        return cursor.fetchone()[0]


def test_bulk_load_with_a_dangling_key_is_refused_and_rolled_back():
    keys_before = _foreign_key_count(EnterpriseTag._meta.db_table)
    firm, tag = EnterpriseFactory(), PortraitTag.objects.get(code="QUAL01")
    when = "2026-01-01T00:00:00+08:00"
    rows = [(firm.pk, tag.pk, "demo", when), (999_999_999, tag.pk, "demo", when)]
    with pytest.raises(IntegrityError), transaction.atomic():
        with foreign_keys_validated_once(EnterpriseTag._meta.db_table):
            copy_rows(EnterpriseTag._meta.db_table, ["enterprise_id", "tag_id", "source", "created_at"], rows)
    assert EnterpriseTag.objects.count() == 0
    assert _foreign_key_count(EnterpriseTag._meta.db_table) == keys_before > 0  # the keys are back


def test_copy_rows_escapes_tabs_newlines_and_nulls():
    firm, tag = EnterpriseFactory(), PortraitTag.objects.get(code="QUAL01")
    text = "第一行\t含制表符\n第二行\\结尾"
    copy_rows(
        EnterpriseTag._meta.db_table,
        ["enterprise_id", "tag_id", "source", "certificate_no", "issued_by", "valid_until", "created_at"],
        [(firm.pk, tag.pk, "import", text, "", None, "2026-01-01T00:00:00+08:00")],
    )
    link = EnterpriseTag.objects.get()
    assert link.certificate_no == text and link.valid_until is None
    assert Enterprise.objects.count() == 1


def test_a_prepared_read_answers_on_a_reused_and_on_a_new_connection(committed_db):
    firms = {EnterpriseFactory(name=name).pk: name for name in ("无锡甲公司", "无锡乙公司")}
    sql = "SELECT name FROM enterprises_enterprise WHERE id = %s AND name LIKE %s"

    def name_of(pk):
        with connection.cursor() as cursor:
            execute_prepared(cursor, "test_name_of", sql, [pk, "无锡%"])
            return cursor.fetchone()[0]

    assert {pk: name_of(pk) for pk in firms} == firms  # prepared once, then reused
    connection.close()  # a new connection has no prepared statements of its own
    assert {pk: name_of(pk) for pk in firms} == firms
