"""Server-drawn SVG charts for templates that must work without JavaScript (the index panel)
and without a browser at all (the monthly report, printed to PDF by WeasyPrint)."""

from django import template
from django.utils.translation import gettext as _

from ..charts_svg import bar_chart, line_chart

register = template.Library()


@register.simple_tag
def dimension_chart(position: dict, after: dict | None = None):
    """An insurer's dimension scores against the peer median (and a what-if, if given)."""
    series = [position["insurer"].short_name, _("Peer median")]
    rows = []
    for d in position["dimensions"]:
        values = [d["score"], d["median"]]
        if after is not None:
            values.append((after.get("dimensions") or {}).get(d["key"]))
        rows.append((d["label"], values))
    if after is not None:
        series.append(_("What if"))
    return bar_chart(
        rows,
        series,
        title=_("Dimension scores (0–100) against the peer median"),
        max_value=100,
        places=2,
    )


@register.simple_tag
def bars(rows, series, title: str, places: int = 0, max_value=None):
    """Horizontal bars: ``rows`` [(label, [values])], one bar per series label."""
    return bar_chart(rows, series, title=title, places=places, max_value=max_value)


@register.simple_tag
def lines(categories, series, title: str):
    """Lines over categories: ``series`` [(label, [values])]."""
    return line_chart(categories, series, title=title)
