import json

import pytest
from django.core.management import call_command

from core.models import Region
from enterprises.models import PortraitTag, PortraitTagCategory
from enterprises.reference_data import PORTRAIT_TAGS_FILE
from policies.models import Department, PolicyLabel, PolicyLabelCategory
from policies.reference_data import load_policy_labels

pytestmark = pytest.mark.django_db


def test_shipped_taxonomies_are_loaded_by_migrate():
    assert PolicyLabel.objects.count() == 287
    assert PortraitTag.objects.count() == 330
    assert PolicyLabelCategory.objects.filter(name__in=["财政金融", "人才培养", "科技创新", "企业融资"]).count() == 4
    assert PortraitTagCategory.objects.get(code="QUAL").tags.filter(name="专精特新“小巨人”企业").exists()


def test_codes_are_stable_and_unique_in_the_data_files():
    data = json.loads(PORTRAIT_TAGS_FILE.read_text(encoding="utf-8"))
    codes = [code for cat in data["categories"] for code, _ in cat["tags"]]
    assert len(codes) == len(set(codes)) == 330
    assert PortraitTag.objects.get(code="QUAL01").name == "高新技术企业"


def test_reloading_keeps_staff_edits():
    label = PolicyLabel.objects.get(code="CZJR01")
    label.name = "专项资金补助（修订）"
    label.save()
    assert load_policy_labels() == 0
    label.refresh_from_db()
    assert label.name == "专项资金补助（修订）"


def test_wuxi_districts_and_departments():
    assert set(Region.objects.filter(parent__code="320200").values_list("name", flat=True)) == {
        "梁溪区", "锡山区", "惠山区", "滨湖区", "新吴区", "经开区", "江阴市", "宜兴市",
    }  # fmt: skip
    assert set(Department.objects.values_list("level", flat=True)) == {"national", "provincial", "city", "district"}


def test_roles_exist_with_server_side_permissions():
    call_command("migrate", verbosity=0)  # roles are refreshed after every migrate
    from django.contrib.auth.models import Group

    editor = set(Group.objects.get(name="政策编辑").permissions.values_list("codename", flat=True))
    reviewer = set(Group.objects.get(name="政策审核").permissions.values_list("codename", flat=True))
    assert "submit_policy" in editor and "review_policy" not in editor
    assert "review_policy" in reviewer and "withdraw_policy" in reviewer
    operator = set(Group.objects.get(name="推送操作员").permissions.values_list("codename", flat=True))
    approver = set(Group.objects.get(name="推送复核").permissions.values_list("codename", flat=True))
    assert "launch_campaign" in operator and "approve_campaign" not in operator  # four eyes: two people
    assert "approve_campaign" in approver and "launch_campaign" not in approver
