"""Staff roles as Django groups, for the whole project (so they live with the project wiring).

Permissions are checked on the server in services and the admin; a role only hands them out."""

from __future__ import annotations

EDITOR = "政策编辑"
REVIEWER = "政策审核"
ADMINISTRATOR = "系统管理员"
PUSH_OPERATOR = "推送操作员"
PUSH_APPROVER = "推送复核"
SERVICE_DESK = "服务专员"  # works the queues enterprises fill: 好差评 and 纠错
PAYOUT_OFFICER = "兑现专员"  # payout rounds: freeze, review, publish, finance; application states; 异议
PAYOUT_APPROVER = "兑现复核"  # approves a round's list (two-person rule, as for pushes)

_READ_REFERENCE = [
    "analytics.view_digest",  # the daily supervision digest of the account's department or district
    "core.view_region",
    "policies.view_department",
    "policies.view_policylabel",
    "policies.view_policylabelcategory",
    "enterprises.view_portraittag",
    "enterprises.view_portraittagcategory",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    EDITOR: [
        "policies.add_policy",
        "policies.change_policy",
        "policies.view_policy",
        "policies.submit_policy",
        "policies.add_policyattachment",
        "policies.change_policyattachment",
        "policies.delete_policyattachment",
        "policies.view_policyattachment",
        # The search synonyms (高企 → 高新技术企业) are editors' to keep.
        "policies.add_searchsynonym",
        "policies.change_searchsynonym",
        "policies.delete_searchsynonym",
        "policies.view_searchsynonym",
        *_READ_REFERENCE,
    ],
    REVIEWER: [
        "policies.change_policy",
        "policies.view_policy",
        "policies.review_policy",
        "policies.withdraw_policy",
        "policies.view_policyattachment",
        *_READ_REFERENCE,
    ],
    # Pushes: one person prepares and launches, another approves (when SMS_LAUNCH_APPROVAL is on).
    PUSH_OPERATOR: [
        "notifications.add_campaign",
        "notifications.change_campaign",
        "notifications.view_campaign",
        "notifications.launch_campaign",
        "notifications.view_smstemplate",
        "notifications.view_message",
        "policies.view_policy",
    ],
    PUSH_APPROVER: [
        "notifications.view_campaign",
        "notifications.approve_campaign",
        "notifications.view_smstemplate",
        "notifications.view_message",
        "policies.view_policy",
    ],
    # Replies to ratings and decides corrections; sees the enterprises concerned (phones stay masked).
    SERVICE_DESK: [
        "portal.view_policyrating",
        "portal.change_policyrating",
        "portal.view_tagcorrection",
        "portal.change_tagcorrection",
        "enterprises.view_enterprise",
        "enterprises.correct_tags",
        "policies.view_policy",
        *_READ_REFERENCE,
    ],
    # 兑现: one person freezes and reviews a round's list, another approves it.
    PAYOUT_OFFICER: [
        "payouts.view_payoutround",
        "payouts.add_payoutround",
        "payouts.change_payoutround",
        "payouts.open_payoutround",
        "payouts.export_payoutround",
        "payouts.view_payoutentry",
        "payouts.view_payoutaudit",
        "payouts.add_payoutstandard",
        "payouts.change_payoutstandard",
        "payouts.view_payoutstandard",
        "payouts.view_objection",
        "payouts.change_objection",
        "payouts.handle_objection",
        "payouts.view_application",
        "payouts.report_application",
        "policies.view_policy",
        "enterprises.view_enterprise",
        *_READ_REFERENCE,
    ],
    PAYOUT_APPROVER: [
        "payouts.view_payoutround",
        "payouts.approve_payoutround",
        "payouts.view_payoutentry",
        "payouts.view_payoutaudit",
        "payouts.view_payoutstandard",
        "policies.view_policy",
    ],
}
# Administrators hold every permission of the project's own apps and manage staff accounts.
ADMIN_APPS = ("core", "policies", "enterprises", "matching", "notifications", "portal", "analytics", "payouts")
ADMIN_EXTRA = ["auth.add_user", "auth.change_user", "auth.view_user", "auth.view_group"]


def ensure_roles(**kwargs) -> None:
    """Create or refresh the role groups (runs after every migrate)."""
    from django.contrib.auth.models import Group, Permission

    def perms(names: list[str]) -> list[Permission]:
        found = []
        for name in names:
            app_label, codename = name.split(".")
            found.extend(Permission.objects.filter(content_type__app_label=app_label, codename=codename))
        return found

    for role, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set(perms(names))
    admin, _ = Group.objects.get_or_create(name=ADMINISTRATOR)
    admin.permissions.set(list(Permission.objects.filter(content_type__app_label__in=ADMIN_APPS)) + perms(ADMIN_EXTRA))
