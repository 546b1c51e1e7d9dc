from django.contrib.auth.models import User
from django.core.management.base import BaseCommand

from notifications.models import Campaign, SmsTemplate
from notifications.services import campaign_launch, campaign_send_day
from policies.models import Policy, Window, window_q

DEMO_NAME = "演示推送：科技创新与数字化转型政策"
BODY = "{企业简称}：您有{n}条惠企政策可申报，含“{政策简称}”等，详见 {link} 拒收请回复R"


class Command(BaseCommand):
    help = "创建并发起一次演示推送（只做一次；已存在则显示其地址）。"

    def handle(self, *args, **options):
        campaign = Campaign.objects.filter(name=DEMO_NAME).first()
        if campaign is None:
            template, _ = SmsTemplate.objects.get_or_create(
                code="SMS_DEMO_001", defaults={"name": "政策包通知", "kind": "marketing", "body": BODY}
            )
            admin = User.objects.filter(is_superuser=True).order_by("id").first()
            campaign = Campaign.objects.create(name=DEMO_NAME, template=template, created_by=admin)
            policies = list(
                Policy.objects.filter(status=Policy.Status.PUBLISHED, labels__category__code__in=["KJCX", "SZZX"])
                .filter(window_q(Window.OPEN, campaign_send_day(campaign=campaign)))  # a push names open ones only
                .distinct()
                .order_by("apply_end")[:3]
            )
            campaign.policies.set(policies)
            campaign_launch(campaign=campaign, user=admin)
            self.stdout.write(f"已发起演示推送（{len(policies)} 条政策），由 Celery worker 生成并发送。")
        self.stdout.write(f"  推送进度      /admin/notifications/campaign/{campaign.pk}/change/")
