"""Geometry of the offline 产业空间地图: zone outlines from seed/zone_maps.toml, one marker per
resource (its own map_x/map_y, else a stable spot inside its zone's outline). Server-drawn SVG:
no tile server, no CDN, no script; names reach the page only as escaped template text."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from seed.zone_maps import ZoneShape

WIDTH, HEIGHT = 1000, 760
STATUS_CLASS = {
    "可招商": "free",
    "意向锁定": "held",
    "已签约": "signed",
    "已入驻": "occupied",
    "暂不可用": "off",
}


@dataclass(frozen=True)
class Marker:
    resource: object
    x: float
    y: float
    css: str
    fits: bool


def _inside(x: float, y: float, poly: tuple[tuple[float, float], ...]) -> bool:
    inside = False
    j = len(poly) - 1
    for i, (xi, yi) in enumerate(poly):
        xj, yj = poly[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def spot(code: str, shape: ZoneShape) -> tuple[float, float]:
    """A point inside the zone chosen from the code's hash: the same every time, spread out."""
    x0, y0, x1, y1 = shape.bbox()
    digest = hashlib.sha1(code.encode("utf-8")).digest()
    for k in range(0, 20, 2):
        fx, fy = digest[k] / 255, digest[k + 1] / 255
        x, y = x0 + 12 + fx * (x1 - x0 - 24), y0 + 12 + fy * (y1 - y0 - 24)
        if _inside(x, y, shape.outline):
            return round(x, 1), round(y, 1)
    return shape.label[0], shape.label[1] + 18


def markers(resources, shapes: dict[str, ZoneShape], fitting: set[int] | None) -> list[Marker]:
    out = []
    for r in resources:
        if r.map_x is not None and r.map_y is not None:
            x, y = r.map_x, r.map_y
        elif r.zone_id in shapes:
            x, y = spot(r.code, shapes[r.zone_id])
        else:
            continue
        out.append(
            Marker(r, x, y, STATUS_CLASS.get(r.status, "off"), fitting is not None and r.id in fitting)
        )
    return out
