"""District map labels never cover each other (西城区 and 东城区 overlapped at their centroids), placed from the
bundled geometry by pushing overlapping boxes apart, with a leader line from a moved label to its district."""
from __future__ import annotations

import polars as pl

from analytics import hotspots as hs
from analytics import maplabels


def test_crowded_labels_are_pushed_apart():
    texts = ["甲乙", "丙丁", "戊己"]
    placed = maplabels.place([(0.0, 0.0)] * 3, texts, px_per_degree=100, lat_scale=1.0, font_px=11)
    assert not maplabels.overlaps(placed, texts, 100, 1.0, 11)
    assert sum(p.moved for p in placed) >= 2
    alone = maplabels.place([(0.0, 0.0), (5.0, 5.0)], ["甲", "乙"], 100, 1.0, 11)
    assert [(p.x, p.y, p.moved) for p in alone] == [(0.0, 0.0, False), (5.0, 5.0, False)]


def test_district_map_labels_do_not_overlap():
    geo = hs.district_geojson()
    scale = hs.map_scale(geo)
    names = [f["properties"]["name"] for f in geo["features"]]
    short = [n.removesuffix("区") for n in names]
    centroids = [tuple(f["properties"]["centroid"]) for f in geo["features"]]
    at_centroids = [maplabels.Placed(x, y, False) for x, y in centroids]
    assert ("东城", "西城") in maplabels.overlaps(at_centroids, short, scale, hs._LAT_SCALE, hs._LABEL_PX)

    fig = hs.district_map(pl.DataFrame({"district": names, "orders": list(range(len(names)))}))
    labels = next(t for t in fig.data if t.name == "区")
    placed = [maplabels.Placed(x, y, False) for x, y in zip(labels.x, labels.y)]
    assert not maplabels.overlaps(placed, list(labels.text), scale, hs._LAT_SCALE, hs._LABEL_PX)
    assert list(labels.customdata) == names                       # a click still names the district
    leaders = next(t for t in fig.data if t.name == "标注引线")
    ends = {(x, y) for x, y in zip(leaders.x, leaders.y) if x is not None}
    tied = [n for i, n in enumerate(names) if centroids[i] in ends and (labels.x[i], labels.y[i]) in ends]
    assert {"东城区", "西城区"} & set(tied)                      # a moved label is tied to its district
    assert len(ends) == 2 * len(tied)
