"""Labels on a map that do not cover each other. Each label starts on its area's anchor point (centroid); where two
labels would overlap at the size they are drawn, they are pushed apart along the axis that needs the least
movement, and a label moved off its anchor is joined back to it by a leader line. Nothing here knows any area's
name: small neighbouring areas (西城区 and 东城区 in Beijing) are separated because their boxes meet."""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Placed:
    x: float            # label centre, in data units (longitude)
    y: float            # latitude
    moved: bool         # off its anchor by more than half its height: draw a leader line


def pixels_per_degree(bounds: tuple[float, float, float, float], lat_scale: float, plot_height: float,
                      min_plot_width: float) -> float:
    """Pixels per degree of longitude on equal-unit axes (y stretched by `lat_scale`): the map fills the plot's
    height unless the narrowest expected width limits it first."""
    west, south, east, north = bounds
    by_height = plot_height / ((north - south) * lat_scale)
    by_width = min_plot_width / (east - west)
    return min(by_height, by_width)


def place(anchors: list[tuple[float, float]], texts: list[str], px_per_degree: float, lat_scale: float,
          font_px: float, gap_px: float = 3.0, rounds: int = 200) -> list[Placed]:
    """Label positions for `texts` at `anchors` (lon, lat): no two boxes (CJK text: one em per character, 1.3 em
    high, plus `gap_px`) overlap once drawn at `px_per_degree`."""
    xs = [lon * px_per_degree for lon, _ in anchors]
    ys = [lat * px_per_degree * lat_scale for _, lat in anchors]
    half_w = [(len(t) * font_px + gap_px) / 2 for t in texts]
    half_h = [(1.3 * font_px + gap_px) / 2 for _ in texts]
    for _ in range(rounds):
        moved = False
        for i in range(len(xs)):
            for j in range(i + 1, len(xs)):
                dx, dy = xs[j] - xs[i], ys[j] - ys[i]
                over_x = half_w[i] + half_w[j] - abs(dx)
                over_y = half_h[i] + half_h[j] - abs(dy)
                if over_x <= 0 or over_y <= 0:
                    continue
                moved = True
                # Resolve along the axis needing less movement; each label takes half (a hair more, so it ends).
                if over_x < over_y:
                    step = (over_x / 2 + 0.01) * (1 if dx >= 0 else -1)
                    xs[i] -= step
                    xs[j] += step
                else:
                    step = (over_y / 2 + 0.01) * (1 if dy >= 0 else -1)
                    ys[i] -= step
                    ys[j] += step
        if not moved:
            break
    return [
        Placed(x / px_per_degree, y / (px_per_degree * lat_scale),
               math.hypot(x - lon * px_per_degree, y - lat * px_per_degree * lat_scale) > half_h[k])
        for k, ((lon, lat), x, y) in enumerate(zip(anchors, xs, ys))
    ]


def overlaps(placed: list[Placed], texts: list[str], px_per_degree: float, lat_scale: float, font_px: float) -> list[tuple[str, str]]:
    """Pairs of labels whose boxes (without the gap) overlap at this scale."""
    boxes = [(p.x * px_per_degree, p.y * px_per_degree * lat_scale, len(t) * font_px / 2, 0.65 * font_px)
             for p, t in zip(placed, texts)]
    return [(texts[i], texts[j]) for i in range(len(boxes)) for j in range(i + 1, len(boxes))
            if abs(boxes[i][0] - boxes[j][0]) < boxes[i][2] + boxes[j][2]
            and abs(boxes[i][1] - boxes[j][1]) < boxes[i][3] + boxes[j][3]]
