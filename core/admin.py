from django import forms
from django.contrib import admin, messages

from core.models import IntegrationToken, IntegrationTokenUse, Region
from core.tokens import DEFAULT_DAYS, MAX_DAYS, SCOPES, integration_token_create, integration_token_revoke


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "parent"]
    search_fields = ["code", "name"]


class TokenCreateForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label="权限范围", choices=[(k, f"{k}：{v}") for k, v in SCOPES.items()], widget=forms.CheckboxSelectMultiple
    )
    days = forms.IntegerField(label="有效期（天）", min_value=1, max_value=MAX_DAYS, initial=DEFAULT_DAYS)

    class Meta:
        model = IntegrationToken
        fields = ["name", "user"]


class TokenUseInline(admin.TabularInline):
    model = IntegrationTokenUse
    fields = ["at", "method", "path", "scope", "ip"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ["-at"]


@admin.register(IntegrationToken)
class IntegrationTokenAdmin(admin.ModelAdmin):
    """Tokens for other systems. The key is shown once, on creation; afterwards only its prefix."""

    list_display = ["name", "prefix", "user", "scope_list", "expires_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix"]
    readonly_fields = ["name", "user", "prefix", "scope_list", "expires_at", "created_by", "created_at",
                       "last_used_at", "revoked_at"]  # fmt: skip
    actions = ["revoke"]
    inlines = [TokenUseInline]

    @admin.display(description="权限范围")
    def scope_list(self, obj: IntegrationToken) -> str:
        return "、".join(obj.scopes)

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = TokenCreateForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return ["name", "user", "scopes", "days"] if obj is None else self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def save_model(self, request, obj, form, change):
        if change:
            return
        token, key = integration_token_create(
            name=form.cleaned_data["name"], user=form.cleaned_data["user"], scopes=form.cleaned_data["scopes"],
            days=form.cleaned_data["days"], created_by=request.user,
        )  # fmt: skip
        obj.pk, obj.prefix = token.pk, token.prefix
        self.message_user(request, f"令牌已创建，请立即复制并安全交给调用方（只显示这一次）：{key}", messages.WARNING)

    def has_delete_permission(self, request, obj=None):
        return False  # revoked, never deleted: the record of its use must stay

    @admin.action(description="吊销所选令牌", permissions=["change"])
    def revoke(self, request, queryset):
        for token in queryset:
            integration_token_revoke(token=token)
        self.message_user(request, f"已吊销 {queryset.count()} 个令牌。", messages.SUCCESS)
