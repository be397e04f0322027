"""Read seed/zone_maps.toml: the schematic zone outlines of the offline 产业空间地图."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from graph.errors import ConfigError

ZONE_MAPS = Path(__file__).resolve().parent / "zone_maps.toml"


@dataclass(frozen=True)
class ZoneShape:
    zone_id: str
    outline: tuple[tuple[float, float], ...]
    label: tuple[float, float]

    @property
    def points(self) -> str:
        """The outline as an SVG `points` attribute."""
        return " ".join(f"{x:g},{y:g}" for x, y in self.outline)

    def bbox(self) -> tuple[float, float, float, float]:
        xs, ys = [p[0] for p in self.outline], [p[1] for p in self.outline]
        return min(xs), min(ys), max(xs), max(ys)


def load_zone_maps(path: Path = ZONE_MAPS) -> dict[str, ZoneShape]:
    """Zone id -> shape; a malformed entry is a ConfigError naming it."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}：无法读取园区地图轮廓（{exc}）") from exc
    shapes = {}
    for zone_id, entry in data.items():
        try:
            outline = tuple((float(x), float(y)) for x, y in entry["outline"])
            label = (float(entry["label"][0]), float(entry["label"][1]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{path}：园区「{zone_id}」的 outline/label 格式错误") from exc
        if len(outline) < 3:
            raise ConfigError(f"{path}：园区「{zone_id}」的轮廓至少需要 3 个点")
        shapes[zone_id] = ZoneShape(zone_id, outline, label)
    return shapes
