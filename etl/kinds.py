"""What each loadable kind of file is: target table, key, required columns, header synonyms, value types.

Adding a kind is adding a KindSpec here. Synonyms are matched after normalisation (etl.mapping.norm);
keywords are matched as substrings of a normalised header, at a lower score.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# Source fields that feed a canonical column but are not one themselves.
VIRTUAL_LABELS = {
    "caller_phone": "来电号码",
    "title": "标题",
    "category_path": "问题分类",
    "is_valid": "是否有效",
}

DATE_FORMATS_HINT = "2024-01-05 08:03:00、2024/1/5 8:03、2024年1月5日 8时3分、01/05/2024 08:03:00 AM、Excel 日期序号"


@dataclass(frozen=True)
class KindSpec:
    name: str
    table: str
    key: tuple[str, ...]
    required: tuple[str, ...]
    synonyms: dict[str, tuple[str, ...]]
    keywords: dict[str, tuple[str, ...]] = field(default_factory=dict)
    dates: tuple[str, ...] = ()
    ints: tuple[str, ...] = ()
    floats: tuple[str, ...] = ()
    months: tuple[str, ...] = ()  # DATE columns holding a month (first day)


_AREA_SYN = {
    # 311 exports: NYC Borough / Community Board, LA council district (CD) / neighbourhood council (NCName)
    # as district and street. Zip codes are not communities: hot issues read a community as a named place.
    "district": ("区", "被反映区", "所属区", "区县", "所属区县", "行政区", "行政区划", "Borough", "CD", "district"),
    "street": ("街道", "街乡", "街乡镇", "被反映街乡镇", "所属街道", "乡镇街道", "街道乡镇", "所属街乡镇",
               "所属街道办事处", "街道办事处", "乡镇", "Community Board", "NCName", "street", "township"),
    "community": ("社区", "村", "村社区", "所属社区", "社区村", "村居", "居委会", "community"),
}
_AREA_KW = {"street": ("街道", "街乡", "乡镇"), "community": ("社区", "居委"), "district": ("区县",)}

WORK_ORDERS = KindSpec(
    name="work_orders",
    table="work_orders",
    key=("order_id",),
    required=("order_id", "received_at"),
    synonyms={
        "order_id": ("工单编号", "工单号", "受理编号", "编号", "留言编号", "案件编号", "工单id", "Unique Key",
                     "service_request_id", "SRNumber", "order_id", "id"),
        "received_at": ("受理时间", "来电时间", "登记时间", "创建时间", "留言时间", "反映时间", "接收时间", "诉求时间",
                        "Created Date", "requested_datetime", "CreatedDate", "received_at"),
        "channel": ("来源渠道", "渠道", "来源", "工单来源", "来电渠道", "诉求渠道", "受理渠道", "Open Data Channel Type",
                    "RequestSource", "channel", "source"),
        "request_type": ("诉求类型", "来电类别", "工单类型", "诉求性质", "来电类型", "request_type"),
        "category_path": ("问题分类", "诉求分类", "事项分类", "反映类别", "分类", "问题类别", "Complaint Type",
                          "service_name", "RequestType"),
        "category_l1": ("一级分类", "一级类别", "一级标签", "category_l1"),
        "category_l2": ("二级分类", "二级类别", "二级标签", "category_l2"),
        "category_l3": ("三级分类", "三级类别", "三级标签", "category_l3"),
        "content": ("诉求内容", "主要内容", "来电内容", "问题描述", "反映内容", "留言详情", "留言内容", "工单内容",
                    "Descriptor", "description", "content"),
        "title": ("留言主题", "标题", "主题", "诉求标题", "title"),
        **_AREA_SYN,
        "address": ("地址", "小区点位", "事发地址", "详细地址", "事发地点", "问题地址", "Incident Address", "Address",
                    "address"),
        "lon": ("经度", "Longitude", "lon", "lng"),
        "lat": ("纬度", "Latitude", "lat"),
        "caller_phone": ("来电号码", "联系电话", "电话", "手机号", "手机号码", "联系方式", "来电人电话", "留言用户",
                         "caller_key", "phone"),
        # LA: Owner is the agency; AssignTo a yard or crew code, used only without Owner (earlier header wins).
        "dept": ("承办单位", "主办单位", "承办部门", "责任单位", "处理部门", "主办部门", "办理单位", "Agency",
                 "agency_responsible", "Owner", "AssignTo", "dept"),
        "dispatched_at": ("派单时间", "派发时间", "交办时间", "转办时间", "分派时间", "dispatched_at"),
        "responded_at": ("响应时间", "签收时间", "首次联系时间", "联系时间", "接单时间", "responded_at"),
        "due_at": ("办理时限", "截止时间", "限办时间", "办结时限", "到期时间", "Due Date", "due_at"),
        "closed_at": ("办结时间", "结案时间", "完成时间", "答复时间", "回复时间", "Closed Date", "ClosedDate",
                      "closed_at"),
        "status": ("状态", "工单状态", "办理状态", "Status", "status"),
        "redispatch_count": ("退单次数", "改派次数", "退单改派次数", "退回次数", "redispatch_count"),
        "resolution": ("是否解决", "解决情况", "解决结果", "resolution"),
        "satisfaction": ("满意度", "回访结果", "是否满意", "满意情况", "satisfaction"),
        "is_invalid": ("无效工单", "是否无效", "is_invalid"),
        "is_valid": ("是否有效", "有效性"),
        "tags": ("标签", "工单标签", "tags"),
        "likes": ("点赞数", "点赞", "likes"),
    },
    keywords={
        **_AREA_KW,
        "content": ("内容", "详情", "描述"),
        "address": ("地址", "点位", "地点"),
        "lon": ("经度",),
        "lat": ("纬度",),
        "caller_phone": ("电话", "手机", "号码"),
        "dept": ("承办", "主办", "责任单位", "处理单位", "部门"),
        "category_path": ("分类", "类别"),
        "status": ("状态",),
        "redispatch_count": ("退单", "改派"),
        "satisfaction": ("满意",),
        "resolution": ("解决",),
    },
    dates=("received_at", "dispatched_at", "responded_at", "due_at", "closed_at"),
    ints=("redispatch_count", "likes"),
    floats=("lon", "lat"),
)

CASES = KindSpec(
    name="cases",
    table="cases",
    key=("case_id",),
    required=("case_id", "opened_at"),
    synonyms={
        "case_id": ("案件编号", "案件号", "吹哨编号", "编号", "case_id"),
        **_AREA_SYN,
        "opened_at": ("发起时间", "吹哨时间", "立案时间", "创建时间", "opened_at"),
        "category": ("问题类别", "问题分类", "案件类别", "类别", "category"),
        "title": ("案件标题", "标题", "title"),
        "description": ("案件描述", "描述", "问题描述", "description"),
        "whistled_by": ("吹哨主体", "发起人", "吹哨人", "发起单位", "whistled_by"),
        "closed_at": ("办结时间", "结案时间", "完成时间", "closed_at"),
        "status": ("状态", "案件状态", "status"),
        "related_order_id": ("关联工单", "关联工单编号", "工单编号", "related_order_id"),
    },
    keywords=_AREA_KW,
    dates=("opened_at", "closed_at"),
)

CASE_EVENTS = KindSpec(
    name="case_events",
    table="case_events",
    key=("case_id", "dept", "event", "occurred_at"),
    required=("case_id", "dept", "event", "occurred_at"),
    synonyms={
        "case_id": ("案件编号", "案件号", "编号", "case_id"),
        "dept": ("部门", "报到部门", "被叫部门", "单位", "dept"),
        "event": ("事件", "环节", "动作", "事件类型", "event"),
        "occurred_at": ("时间", "发生时间", "事件时间", "occurred_at", "at"),
        "note": ("备注", "说明", "note"),
    },
    dates=("occurred_at",),
)

RATINGS = KindSpec(
    name="ratings",
    table="dept_ratings",
    key=("period", "street", "dept"),
    required=("period", "street", "dept", "score"),
    synonyms={
        "period": ("考核月份", "月份", "考核周期", "期间", "period"),
        "street": ("街道", "街乡", "街乡镇", "考核街乡", "街道乡镇", "street"),
        "district": ("区", "所属区", "区县", "district"),
        "dept": ("部门", "被考核部门", "被考核单位", "dept"),
        "score": ("评分", "得分", "分数", "score"),
        "comment": ("评语", "意见", "备注", "comment"),
    },
    floats=("score",),
    months=("period",),
)

DUTIES = KindSpec(
    name="duties",
    table="dept_duties",
    key=("category_l1", "category_l2", "dept"),
    required=("category_l1", "dept"),
    synonyms={
        "category_l1": ("一级分类", "一级类别", "category_l1"),
        "category_l2": ("二级分类", "二级类别", "category_l2"),
        "dept": ("责任部门", "主责部门", "部门", "承办单位", "dept"),
    },
)

KINDS: dict[str, KindSpec] = {k.name: k for k in (WORK_ORDERS, CASES, CASE_EVENTS, RATINGS, DUTIES)}


def get(kind: str) -> KindSpec:
    try:
        return KINDS[kind]
    except KeyError:
        raise ValueError(f"未知的数据类型“{kind}”；可选：{'、'.join(KINDS)}") from None

KIND_NAMES = {"work_orders": "工单", "cases": "吹哨案件", "case_events": "吹哨事件记录", "ratings": "街乡考核部门评分",
              "duties": "权责清单"}


def _fits(headers: list[str], kind: str) -> set[str]:
    from etl.mapping import suggest_mapping  # mapping imports this module

    return set(suggest_mapping(headers, kind).values())


def likely_kinds(headers: list[str], kind: str) -> list[str]:
    """Other kinds whose required columns these headers all provide (a file loaded as the wrong kind)."""
    return [other for other, spec in KINDS.items() if other != kind and set(spec.required) <= _fits(headers, other)]


def better_kinds(headers: list[str], kind: str) -> list[str]:
    """Other kinds that explain these headers clearly better than `kind` does: all their required columns
    and at least two more columns than `kind` finds (a cases export has 案件编号 and 办结时间 a work-order
    export could read, but also 吹哨主体, 案件标题, 发起时间 that only cases have)."""
    own = len(_fits(headers, kind))
    return [other for other in likely_kinds(headers, kind) if len(_fits(headers, other)) >= own + 2]


def kind_advice(found: list[str]) -> str:
    return "这个文件看起来是" + "或".join(
        f"{KIND_NAMES[k]}（命令行 --kind {k}；导入页“数据类型”选“{KIND_NAMES[k]}”）" for k in found) + "，请按该类型导入。"
