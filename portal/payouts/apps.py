from django.apps import AppConfig


class PayoutsConfig(AppConfig):
    name = "portal.payouts"
    label = "payouts"
    verbose_name = "政策兑现"

    def ready(self) -> None:
        # The dashboard's funnel goes on past 已申报: department-reported applications count as applied (a firm's
        # own 已申报 button stays its own source), and a payment — 已拨付 reported by a department, or a 免申即享
        # round's entry paid — is the last stage.
        from portal.analytics.queues import register_queue
        from portal.analytics.stages import APPLIED, Stage, StageSource, register_source, register_stage
        from portal.payouts.models import Application, ApplicationStatus, PayoutEntry, PayoutRound
        from portal.payouts.queues import KINDS

        for kind in KINDS:  # 公示异议 and 申报办理 under supervision, with the dashboard's lights
            register_queue(kind)

        applications, entries = Application._meta.db_table, PayoutEntry._meta.db_table
        rounds = PayoutRound._meta.db_table
        register_stage(Stage("paid", "已兑现"), after=APPLIED)
        register_source(StageSource(APPLIED, f"SELECT enterprise_id, policy_id, created_at AS at FROM {applications}"))
        register_source(
            StageSource(
                "paid",
                f"SELECT enterprise_id, policy_id, status_at AS at FROM {applications} "
                f"WHERE status = '{ApplicationStatus.PAID}' "
                f"UNION ALL SELECT e.enterprise_id, r.policy_id, e.paid_on::timestamptz AS at FROM {entries} e "
                f"JOIN {rounds} r ON r.id = e.round_id WHERE e.status = '{PayoutEntry.Status.PAID}'",
            )
        )
