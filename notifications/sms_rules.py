"""The rules any SMS text and template follow in mainland China, whatever the push: length with the
signature, billing segments, what carriers accept in a template, and how a template's placeholders become
a vendor's parameters and the text a phone shows. (What a push's own messages say is ``push_text``.)

Facts (DOMAIN.md): the signature 【…】 counts towards the length; up to 70 characters is one message,
longer messages are billed in 67-character segments; about 500 characters at most; 【】 may not appear
in the body. Notification (通知) templates must not carry marketing opt-out text; marketing (推广)
templates must end with one, such as 拒收请回复R.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from functools import lru_cache

SINGLE_LIMIT = 70
SEGMENT_SIZE = 67
MAX_LENGTH = 500
OPT_OUT_PATTERNS = ("拒收请回复R", "回TD退订", "退订回T", "回T退订")
_OPT_OUT_RE = re.compile(r"(拒收请回复\s*R|回\s*TD\s*退订|退订回\s*T|回\s*T\s*退订)\s*[。.]?\s*$", re.IGNORECASE)


def sms_length(text: str, signature: str) -> int:
    """Characters as carriers count them: every character (Chinese or not) is one, the signature included."""
    return len(f"【{signature}】") + len(text)


def segments(length: int) -> int:
    """Billed segments for a message of ``length`` characters."""
    if length <= SINGLE_LIMIT:
        return 1
    return -(-length // SEGMENT_SIZE)


def segments_sql(length: str) -> str:
    """``segments`` as a SQL expression over the SQL expression ``length``, for set-based planning."""
    return f"(CASE WHEN {length} <= {SINGLE_LIMIT} THEN 1 ELSE ceil(({length}) / {SEGMENT_SIZE}.0)::int END)"


@dataclass(frozen=True)
class TemplateCheck:
    ok: bool
    problems: list[str]


def check_template(*, body: str, signature: str, marketing: bool, sample_length: int | None = None) -> TemplateCheck:
    """Would carriers accept this template? Problems are reasons a staff member can act on."""
    problems = []
    if not signature or not 2 <= len(signature) <= 12 or any(c in signature for c in "【】"):
        problems.append("短信签名应为 2–12 个字，且不含【】。")
    if "【" in body or "】" in body:
        problems.append("模板正文中不能出现【】，【】只用于签名。")
    opt_out = bool(_OPT_OUT_RE.search(body.strip()))
    mentions_opt_out = opt_out or any(p in body for p in OPT_OUT_PATTERNS)
    if marketing and not opt_out:
        problems.append("推广类短信必须以退订提示结尾，如“拒收请回复R”。")
    if not marketing and mentions_opt_out:
        problems.append("通知类短信不能包含营销退订提示，请改用推广类模板或删去退订提示。")
    fields = {name for _, name, _, _ in string.Formatter().parse(body) if name}
    unknown = fields - set(PLACEHOLDERS)
    if unknown:
        problems.append(f"模板中有未知的变量：{'、'.join(sorted(unknown))}。可用：{'、'.join(PLACEHOLDERS)}。")
    length = sample_length if sample_length is not None else sms_length(body, signature)
    if length > MAX_LENGTH:
        problems.append(f"短信过长：{length} 字（含签名），上限约 {MAX_LENGTH} 字。")
    return TemplateCheck(not problems, problems)


PLACEHOLDERS = {
    "企业简称": "企业简称（没有简称时用企业名称）",
    "n": "本次可申报的政策条数",
    "政策简称": "第一条政策的简称",
    "link": "企业专属政策包链接",
}
# The variable names registered with the vendors (Aliyun ${name}; Tencent takes them in this order);
# {code} is the sign-in template's only variable.
VENDOR_NAMES = {"企业简称": "name", "n": "n", "政策简称": "policy", "link": "link", "code": "code",
                # the staff supervision digest's template (portal/analytics)
                "责任单位": "unit", "待办": "open", "超期": "red", "临期": "yellow"}  # fmt: skip


@lru_cache(maxsize=64)
def template_variables(body: str) -> tuple[str, ...]:
    """The template's variables as vendor names, in the order they appear (Tencent's TemplateParamSet).
    Kept per body: sending asks once per message."""
    names = [name for _, name, _, _ in string.Formatter().parse(body) if name in VENDOR_NAMES]
    return tuple(VENDOR_NAMES[name] for name in dict.fromkeys(names))


def template_params(body: str, values: dict[str, str]) -> dict[str, str]:
    """The parameters a vendor takes for ``body``: of ``values`` (by vendor name), those the template uses,
    in the order it uses them."""
    return {name: str(values[name]) for name in template_variables(body)}


def render(body: str, params: dict[str, str]) -> str:
    """The text a phone shows (without the signature, which the gateway adds), from parameters by vendor
    name: one replace per placeholder, in VENDOR_NAMES order, the order in which planning's SQL replaces
    them to count the length."""
    for placeholder, name in VENDOR_NAMES.items():
        if name in params:
            body = body.replace("{" + placeholder + "}", str(params[name]))
    return body
