import pytest

from etl.mapping import read_mapping_file, resolve, suggest_mapping, unmapped


@pytest.mark.parametrize("header,target", [
    ("工单编号", "order_id"), ("受理编号", "order_id"), ("Unique Key", "order_id"), ("service_request_id", "order_id"),
    ("来电时间", "received_at"), ("反映时间", "received_at"), ("requested_datetime", "received_at"),
    ("主要内容", "content"), ("留言详情", "content"), ("Descriptor", "content"),
    ("问题分类", "category_path"), ("反映类别", "category_path"), ("Complaint Type", "category_path"),
    ("被反映区", "district"), ("区县", "district"), ("Borough", "district"),
    ("被反映街乡镇", "street"), ("乡镇街道", "street"), ("所属街道办事处", "street"),
    ("主办单位", "dept"), ("agency_responsible", "dept"), ("AssignTo", "dept"),
    ("结案时间", "closed_at"), ("答复时间", "closed_at"), ("ClosedDate", "closed_at"),
    ("回访结果", "satisfaction"), ("解决情况", "resolution"), ("手机号", "caller_phone"), ("留言用户", "caller_phone"),
    ("派发时间", "dispatched_at"), ("签收时间", "responded_at"), ("首次联系时间", "responded_at"),
    ("限办时间", "due_at"), ("截止时间", "due_at"), ("工单来源", "channel"), ("来电渠道", "channel"),
    ("来电类别", "request_type"), ("村(社区)", "community"), ("所属社区", "community"), ("事发地址", "address"),
    ("Incident Address", "address"), ("Latitude", "lat"), ("经度", "lon"), ("Status", "status"),
    ("改派次数", "redispatch_count"), ("标签", "tags"), ("点赞数", "likes"), ("是否有效", "is_valid"),
    ("无效工单", "is_invalid"), (" 受理 时间 ", "received_at"), ("转办时间", "dispatched_at"), ("交办日期", "dispatched_at"),
])
def test_single_header_maps(header, target):
    assert suggest_mapping([header], "work_orders") == {header: target}


def test_each_target_taken_once_and_unmapped_reported():
    headers = ["Agency", "Agency Name", "Status", "Location", "Unique Key"]
    m = suggest_mapping(headers, "work_orders")
    assert m == {"Agency": "dept", "Status": "status", "Unique Key": "order_id"}
    assert unmapped(headers, m) == ["Agency Name", "Location"]


def test_la_request_type_is_a_category_not_a_request_type():
    assert suggest_mapping(["RequestType", "RequestSource"], "work_orders") == {
        "RequestType": "category_path", "RequestSource": "channel"}


def test_mapping_files_override(etl_fx):
    j = read_mapping_file(etl_fx / "odd_mapping.json")
    t = read_mapping_file(etl_fx / "odd_mapping.toml")
    assert j["流水号"] == t["流水号"] == "order_id"
    m = resolve(["流水号", "时间戳", "工单编号"], "work_orders", {"流水号": "order_id", "时间戳": "received_at"})
    assert m == {"流水号": "order_id", "时间戳": "received_at"}  # the override took order_id from 工单编号
    with pytest.raises(ValueError, match="不是"):
        resolve(["a"], "work_orders", {"a": "no_such_column"})


def test_other_kinds():
    assert suggest_mapping(["考核月份", "街乡", "被考核部门", "得分", "评语"], "ratings") == {
        "考核月份": "period", "街乡": "street", "被考核部门": "dept", "得分": "score", "评语": "comment"}
    assert suggest_mapping(["一级分类", "二级分类", "主责部门"], "duties") == {
        "一级分类": "category_l1", "二级分类": "category_l2", "主责部门": "dept"}
    assert suggest_mapping(["案件编号", "部门", "事件", "时间", "备注"], "case_events")["时间"] == "occurred_at"
    assert suggest_mapping(["案件编号", "发起时间", "吹哨主体", "关联工单"], "cases") == {
        "案件编号": "case_id", "发起时间": "opened_at", "吹哨主体": "whistled_by", "关联工单": "related_order_id"}
