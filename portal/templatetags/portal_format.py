"""Template filters for figures on the portal's pages: ``{{ policy.max_amount|wan_yuan }}`` → "76.51 亿元"."""

from django import template

from core import numbers

register = template.Library()


@register.filter
def wan_yuan(value, part: str = ""):
    """An amount in 万元 with separators and its unit; ``:"number"`` or ``:"unit"`` for one half (to style
    the figure apart from its unit)."""
    figure, unit = numbers.wan_yuan_parts(value)
    if part == "number":
        return figure
    if part == "unit":
        return unit
    return f"{figure} {unit}" if unit else figure


@register.filter
def thousands(value):
    return numbers.thousands(value)


@register.filter
def yuan(value):
    """An amount in 元: "50,000.00"."""
    return numbers.yuan(value)


# A message meant for one section of a page carries this prefix and the section's id in its extra tags: the
# section shows it beside the form that was sent, and the page's top list leaves it out.
SECTION_MESSAGE = "at-"


@register.filter
def page_messages(messages):
    """Messages for the top of the page: every one not meant for a section."""
    return [m for m in messages or () if not (getattr(m, "extra_tags", "") or "").startswith(SECTION_MESSAGE)]


@register.filter
def section_messages(messages, section: str):
    return [m for m in messages or () if (getattr(m, "extra_tags", "") or "") == SECTION_MESSAGE + section]
