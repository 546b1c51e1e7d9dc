import json
import os
import secrets

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand

from core.models import Region
from policies.models import Department, StaffScope
from portal.roles import (
    ADMINISTRATOR,
    EDITOR,
    PAYOUT_APPROVER,
    PAYOUT_OFFICER,
    PUSH_APPROVER,
    PUSH_OPERATOR,
    REVIEWER,
    SERVICE_DESK,
)

ACCOUNTS = [
    ("admin", ADMINISTRATOR, True, "系统管理员（全部权限）"),
    ("editor", EDITOR, False, "政策编辑（起草、提交审核，不能发布）"),
    ("reviewer", REVIEWER, False, "政策审核（审核发布、退回、撤回）"),
    ("operator", PUSH_OPERATOR, False, "推送操作员（创建并发起短信推送）"),
    ("approver", PUSH_APPROVER, False, "推送复核（开启 SMS_LAUNCH_APPROVAL 时复核推送）"),
    ("xinwu", SERVICE_DESK, False, "新吴区服务专员（只看新吴区的企业、数据与待办）"),
    ("gongxin", REVIEWER, False, "市工业和信息化局（只看本部门的政策与推送）"),
    ("payout", PAYOUT_OFFICER, False, "兑现专员（生成与审核兑现名单、公示、报送财政、申报状态）"),
    ("payoutcheck", PAYOUT_APPROVER, False, "兑现复核（复核兑现名单）"),
]
# Staff scopes of the district and department accounts: (district code, department code).
SCOPES = {"xinwu": ("320214", None), "gongxin": (None, "WX-IIT")}


class Command(BaseCommand):
    help = "创建演示用工作人员账号并打印登录信息（密码随机生成，保存在 var/demo_credentials.json）。"

    def handle(self, *args, **options):
        path = settings.VAR_DIR / "demo_credentials.json"
        saved = json.loads(path.read_text()) if path.exists() else {}
        for username, role, superuser, _ in ACCOUNTS:
            user, created = User.objects.get_or_create(username=username, defaults={"is_staff": True})
            if created or username not in saved or not user.check_password(saved[username]):
                saved[username] = secrets.token_urlsafe(9)
                user.set_password(saved[username])
            user.is_staff = True
            user.is_superuser = superuser
            user.save()
            user.groups.set([Group.objects.get(name=role)])
            if username in SCOPES:
                region, department = SCOPES[username]
                StaffScope.objects.update_or_create(
                    user=user,
                    defaults={
                        "region": Region.objects.filter(code=region).first() if region else None,
                        "department": Department.objects.filter(code=department).first() if department else None,
                    },
                )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(saved, ensure_ascii=False, indent=1))
        os.chmod(path, 0o600)
        self.stdout.write("工作人员账号（管理后台 /admin/）：")
        for username, _, _, description in ACCOUNTS:
            self.stdout.write(f"  {username:<9} 密码 {saved[username]:<14} {description}")
