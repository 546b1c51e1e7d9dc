"""API authentication for other systems: ``Authorization: Token hq_…`` with an integration token.

Each view says which scope each of its actions needs, in ``token_scopes`` (keyed by ViewSet action or by
HTTP method). A token without that scope, or calling a view that names no scopes, is refused with 403 —
before the view runs. Every accepted call is recorded (``core.tokens.integration_token_used``).
"""

from __future__ import annotations

from rest_framework import authentication, exceptions

from core.client_address import client_address
from core.tokens import SCOPES, TokenRefused, integration_token_check, integration_token_used


def required_scope(view, method: str) -> str | None:
    scopes = getattr(view, "token_scopes", None) or {}
    action = getattr(view, "action", None)
    return scopes.get(action) if action in scopes else scopes.get(method)


class IntegrationTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization 头应为“Token 令牌”。")
        try:
            token = integration_token_check(header[1].decode("ascii", errors="replace"))
        except TokenRefused as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from None
        view = request.parser_context.get("view") if request.parser_context else None
        scope = required_scope(view, request.method)
        if scope is None:
            raise exceptions.PermissionDenied("该令牌不能调用此接口。")
        if scope not in token.scopes:
            raise exceptions.PermissionDenied(f"该令牌没有“{SCOPES[scope]}”（{scope}）权限。")
        integration_token_used(
            token=token, method=request.method, path=request.path, scope=scope, ip=client_address(request)
        )
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword
