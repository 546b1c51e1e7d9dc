from django.apps import AppConfig


class PayoutsConfig(AppConfig):
    name = "portal.payouts"
    label = "payouts"
    verbose_name = "政策兑现"
