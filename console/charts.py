"""Charts for the supervisor pages: pygal renders SVG on the server, inlined in the page.

Nothing is loaded at run time: pygal's JavaScript is turned off (``js=[]``), its inline
script and tooltip layer are removed, and text uses the browser's fonts. Each chart keeps
its own ``<style>``; the page allows exactly those by their SHA-256 in its
Content-Security-Policy (:func:`content_security_policy`), so no other inline style runs.
Bars and slices link to the case list behind them.
"""

from __future__ import annotations

import base64
import hashlib
import math
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pygal
from markupsafe import Markup
from pygal.style import Style

from console.security import CONTENT_SECURITY_POLICY

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)

FONT = (
    '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "PingFang SC", '
    '"Microsoft YaHei", "WenQuanYi Micro Hei", sans-serif'
)
PALETTE = (
    "#1d63c9",
    "#f59f00",
    "#16794c",
    "#c0392b",
    "#7048e8",
    "#0b8a9c",
    "#d9480f",
    "#5c7cfa",
    "#82c91e",
    "#e64980",
    "#495057",
    "#a07a3c",
)
"""Series colours: distinct on screen and still apart when printed in grey."""
ZERO_WIDTH_SPACE = "\u200b"
PRESENTATION = frozenset({"fill", "stroke", "opacity", "fill-opacity", "stroke-width"})
SATISFACTION_COLOURS = ("#16794c", "#4caf7a", "#f0b429", "#c0392b")
STYLE = Style(
    font_family=FONT,
    background="transparent",
    plot_background="transparent",
    foreground="#3e4c59",
    foreground_strong="#1f2933",
    foreground_subtle="#8a96a3",
    colors=PALETTE,
    label_font_size=12,
    major_label_font_size=12,
    value_font_size=12,
    value_label_font_size=11,
    legend_font_size=12,
    title_font_size=14,
    tooltip_font_size=12,
    no_data_font_size=16,
    guide_stroke_color="#dfe4ea",
    guide_stroke_dasharray="3,3",
    major_guide_stroke_color="#dfe4ea",
    major_guide_stroke_dasharray="3,3",
    opacity=".9",
    opacity_hover="1",
    transition="0ms",
)
BASE_CONFIG: dict[str, Any] = {
    "js": [],
    "style": STYLE,
    "disable_xml_declaration": True,
    "no_data_text": "暂无数据",
    "legend_box_size": 10,
    "margin": 8,
    "spacing": 8,
    "truncate_label": -1,
    "truncate_legend": -1,
}


@dataclass
class Chart:
    """A rendered chart: the SVG markup and the hashes of its inline styles."""

    svg: Markup
    style_hashes: list[str] = field(default_factory=list)

    def __html__(self) -> str:
        return str(self.svg)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def finish(graph: Any, label: str) -> Chart:
    """Renders a pygal chart to inline SVG without scripts or tooltips.

    Args:
        graph: The configured pygal chart.
        label: What the chart shows, for screen readers (``aria-label``).
    """
    root = ET.fromstring(graph.render(is_unicode=True))
    hashes = []
    for parent in list(root.iter()):
        for child in list(parent):
            tag = _local(child.tag) if isinstance(child.tag, str) else ""
            classes = (child.get("class") or "").split()
            dropped = tag == "script" or (tag == "title" and parent is root)
            if dropped or (tag == "g" and "tooltip-overlay" in classes):
                parent.remove(child)
            elif child.get("style") is not None:
                _style_to_attributes(child)
            if tag == "style":
                css = child.text or ""
                digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
                hashes.append(f"'sha256-{digest}'")
    root.set("role", "img")
    root.set("aria-label", label)
    root.set("class", (root.get("class") or "") + " chart")
    svg = ET.tostring(root, encoding="unicode", short_empty_elements=True)
    return Chart(Markup(svg), hashes)


def _style_to_attributes(element: ET.Element) -> None:
    # Inline style attributes are refused by the policy; SVG presentation attributes are not.
    for declaration in (element.attrib.pop("style", "") or "").split(";"):
        name, _, value = declaration.partition(":")
        if name.strip() in PRESENTATION and value.strip():
            element.set(name.strip(), value.strip())


def content_security_policy(charts: Sequence[Chart]) -> str:
    """The console's policy, allowing the given charts' own styles and nothing more."""
    hashes = sorted({h for chart in charts for h in chart.style_hashes})
    if not hashes:
        return CONTENT_SECURITY_POLICY
    allowed = "style-src 'self' " + " ".join(hashes)
    return CONTENT_SECURITY_POLICY.replace("style-src 'self'", allowed)


def fit(text: str) -> str:
    """Pads a label so that pygal leaves room for it.

    pygal reserves 0.6 em per character, which is right for Latin text but not for Chinese
    (1 em). Zero-width spaces make up the difference without showing.
    """
    wide = sum(1 for ch in text if unicodedata.east_asian_width(ch) in ("W", "F"))
    return text + ZERO_WIDTH_SPACE * math.ceil(wide * 0.7)


def int_ticks(peak: float, most: int = 6) -> list[int]:
    """Whole-number axis ticks from 0 to at least ``peak``, at most about ``most`` of them."""
    top = max(math.ceil(peak), 1)
    step = 1
    for candidate in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000):
        step = candidate
        if top / candidate <= most - 1:
            break
    else:
        step = math.ceil(top / (most - 1))
    last = math.ceil(top / step) * step
    return list(range(0, last + 1, step))


def _value(value: float | None, link: str | None, title: str) -> dict[str, Any]:
    item: dict[str, Any] = {"value": value}
    if link and value:
        item["xlink"] = {"href": link, "target": "_self", "title": title}
    return item


def stacked_days(
    days: Sequence[str],
    series: Sequence[tuple[str, Sequence[int], Sequence[str | None]]],
    label: str,
) -> Chart:
    """Cases per day, stacked by category, with the legend on the left.

    Args:
        days: The x labels.
        series: ``(name, count per day, link per day)`` per category.
    """
    totals = [sum(counts[i] for _, counts, _ in series) for i in range(len(days))]
    many = len(days) > 16
    graph = pygal.StackedBar(
        **BASE_CONFIG,
        width=1100,
        height=300,
        x_labels=list(days),
        x_label_rotation=-40 if many else 0,
        show_minor_x_labels=not many,
        x_labels_major_every=max(1, len(days) // 12) if many else None,
        y_labels=int_ticks(max(totals, default=0)) if series else None,
        print_values=False,
        value_formatter=lambda v: f"{int(v)}",
    )
    for name, counts, links in series:
        graph.add(
            fit(name),
            [
                _value(c or None, link, f"{name} {d}：{c} 件")
                for c, link, d in zip(counts, links, days, strict=True)
            ],
        )
    return finish(graph, label)


def bars(
    items: Sequence[tuple[str, float, str | None]],
    label: str,
    *,
    formatter: Callable[[float], str] = lambda v: f"{int(v)}",
    width: int = 460,
    colour: int = 0,
) -> Chart:
    """A horizontal bar per item, largest at the top, values printed on the bars.

    Args:
        items: ``(label, value, link)``.
    """
    ordered = list(reversed(items))
    graph = pygal.HorizontalBar(
        **{**BASE_CONFIG, "style": _palette(colour)},
        width=width,
        height=44 + 28 * max(len(items), 2),
        show_legend=False,
        print_values=True,
        print_values_position="top",
        value_formatter=formatter,
        x_labels=[fit(name) for name, _, _ in ordered],
        y_labels=int_ticks(max((v for _, v, _ in items), default=0), 5),
        show_y_guides=True,
    )
    graph.add(
        label,
        [_value(v, link, f"{name}：{formatter(v)}") for name, v, link in ordered],
    )
    return finish(graph, label)


def rate_bars(
    items: Sequence[tuple[str, float | None, str | None]],
    target: float,
    label: str,
    *,
    width: int = 460,
) -> Chart:
    """On-time rates per office as horizontal bars, with the target as a red dashed line.

    Bars that meet the target are green, the others red.

    Args:
        items: ``(office, rate or None, link)``.
        target: The target rate (0–1), drawn as a major guide.
    """
    ordered = list(reversed(items))
    ticks: list[Any] = [t for t in (0, 0.5, 1) if abs(t - target) > 0.14]
    ticks.append({"label": f"目标 {target:.0%}", "value": target})
    graph = pygal.HorizontalBar(
        **{**BASE_CONFIG, "style": _colours(PALETTE, major="#c0392b")},
        width=width,
        height=54 + 28 * max(len(items), 2),
        show_legend=False,
        print_values=True,
        print_values_position="top",
        value_formatter=lambda v: f"{v:.0%}",
        range=(0, 1),
        x_labels=[fit(name) for name, _, _ in ordered],
        y_labels=sorted(ticks, key=lambda t: t["value"] if isinstance(t, dict) else t),
        y_labels_major=[target],
        show_y_guides=True,
    )
    graph.add(
        label,
        [
            {
                **_value(rate, link, f"{name}：{rate:.0%}" if rate is not None else name),
                "color": PALETTE[2] if rate is not None and rate >= target else PALETTE[3],
            }
            for name, rate, link in ordered
        ],
    )
    return finish(graph, label)


def donut(
    items: Sequence[tuple[str, int, str | None]],
    label: str,
    *,
    colours: Sequence[str] | None = None,
    width: int = 420,
) -> Chart:
    """A donut of shares, with a legend and the counts printed on the slices."""
    graph = pygal.Pie(
        **{**BASE_CONFIG, "style": _colours(colours or PALETTE)},
        width=width,
        height=240,
        inner_radius=0.55,
        print_values=True,
        value_formatter=lambda v: f"{int(v)}",
    )
    if any(count for _, count, _ in items):
        for name, count, link in items:
            graph.add(fit(f"{name} {count}"), [_value(count or None, link, f"{name}：{count}")])
    return finish(graph, label)


def _colours(colours: Sequence[str], major: str | None = None) -> Style:
    fields = _style_fields()
    if major:
        fields.update(major_guide_stroke_color=major, major_guide_stroke_dasharray="6,4")
    return Style(**{**fields, "colors": tuple(colours)})


def _palette(start: int) -> Style:
    return _colours(PALETTE[start:] + PALETTE[:start])


def _style_fields() -> dict[str, Any]:
    names = (
        "font_family",
        "background",
        "plot_background",
        "foreground",
        "foreground_strong",
        "foreground_subtle",
        "label_font_size",
        "major_label_font_size",
        "value_font_size",
        "value_label_font_size",
        "legend_font_size",
        "title_font_size",
        "tooltip_font_size",
        "no_data_font_size",
        "guide_stroke_color",
        "guide_stroke_dasharray",
        "major_guide_stroke_color",
        "major_guide_stroke_dasharray",
        "opacity",
        "opacity_hover",
        "transition",
    )
    return {name: getattr(STYLE, name) for name in names}
