"""Small template helpers of the /records/ pages and the admin's."""

from django import template

from coordination.tables import unit_name
from coordination.text import person_name as _person_name

register = template.Library()


@register.simple_tag
def record_unit(record) -> str:
    """The unit a task (lead) or follow-up item (responsible) belongs to."""
    unit = getattr(record, "lead_unit", None) or getattr(record, "responsible_unit", None)
    return unit_name(unit)


@register.filter
def unit_label(unit) -> str:
    """`unit` as lists and reports name it (`tables.unit_name`)."""
    return unit_name(unit)


@register.simple_tag
def days_overdue(record, today) -> str:
    return str(record.days_overdue(today) or "")


@register.filter
def person_name(user) -> str:
    """A user's name in the Vietnamese order (`coordination.text.person_name`)."""
    return _person_name(user)
