"""A synthetic city's 12345 work-order export with planted truths, for evaluations and tests.

The city is invented and shares nothing with the demo (etl/demo_lexicon.py): its own districts and streets
(or, with divisions="beijing", Beijing's official divisions from data/), estates named 澜岸公馆 / 云栖上城 /
枫林Park, roads named 学府三路 / 滨湖大道 / 文昌巷, its own category tree, departments, first-person
phrasing with salutations and thanks, and export headers the demo never writes. Everything is
deterministic per seed.

API
---
    from bench.synthcity import generate, HEADERS

    city = generate(seed=7, orders=20_000, start=date(2025, 1, 1), months=12,
                    area_columns=True, divisions="invented", anonymised=False)
    city.headers            # export header row (HEADERS)
    city.rows               # list of lists of str, one per order, in header order ("" = blank cell)
    city.frame()            # the same as a polars DataFrame of strings
    city.write_csv(path, encoding="utf-8")   # "gbk" / "gb18030" also work (every text is GBK-safe)
    city.truth              # Truth: what was planted, as data

Options: `months` ≥ 36 plants a seasonal category over ≥ 3 years (Truth.seasonal); `area_columns=False`
drops 所属区县 / 所属街道 / 社区, so district and street are only named in 事发地址 or the text;
`anonymised=True` writes places the way a published data set hides them (K市, K3区, a made-up province).

Truth (all order ids are 受理编号 values):
    burst          Burst: ≥ 50 distinct callers about one concrete problem (a lift) at one estate within
                   21 days of one calendar month
    repeats        list[Repeat]: one caller, one matter (same place, same category), ≥ 3 orders within 30 days
    decoys         list[Repeat]: same caller but not a repeat (2 orders; 3 orders spread over > 30 days;
                   3 orders about different matters)
    policy         Policy: a policy problem naming no place, ≥ 30 distinct callers within 4 weeks
    seasonal       Seasonal | None: a category peaking in the same calendar months every year
    non_dispatched list[str]: orders answered on the spot (no 派单时间, no 处理部门, no 签收时间)
    areas          dict order_id -> (district, street): the true area of every order
    area_named     set[str]: orders whose 事发地址 or text names their district and street in full
"""
from __future__ import annotations

import csv
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl

DATA = Path(__file__).resolve().parent.parent / "data"

HEADERS = [
    "受理编号", "登记时间", "诉求渠道", "诉求性质", "诉求分类", "反映内容", "所属区县", "所属街道", "社区",
    "事发地址", "联系电话", "处理部门", "派单时间", "签收时间", "办结时限", "办结时间", "工单状态",
    "解决情况", "回访结果",
]
AREA_HEADERS = ("所属区县", "所属街道", "社区")

CITY = "澄江市"
DISTRICT_NAMES = ["临湖区", "钟山区", "石门区", "北岸新区", "溪口区", "云台县"]
STREET_ROOTS = ["凤鸣", "鹿角", "梅岭", "竹溪", "松涛", "桂苑", "枫桥", "荷塘", "柳浪", "杏坛", "樟树", "白沙",
                "青石", "龙泉", "望湖", "双井", "渡口", "金沙", "银湖", "翠屏", "南浦", "东津", "西陵", "茶亭",
                "铁佛", "盐仓", "书院", "仓前", "古渡", "新塘"]
STREET_KINDS = ["街道", "街道", "街道", "镇", "乡"]
ESTATE_ROOTS = ["澜岸", "云栖", "橡树", "星河", "翡翠", "望江", "观澜", "蓝湾", "朗诗", "紫荆", "栖霞", "鹭洲",
                "梧桐", "丹桂", "海棠", "凤凰", "清溪", "半山", "香樟", "汀兰", "檀宫", "御湖", "溪岸", "玖珑",
                "泊林", "铂悦", "麓湖", "悦澜", "云锦", "水岸"]
ESTATE_SUFFIXES = ["公馆", "上城", "新都", "公寓", "名邸", "雅居", "国际", "湾畔", "壹号", "Park", "Garden", "小镇"]
ROAD_ROOTS = ["迎宾", "滨湖", "学府", "科创", "文昌", "环城", "工业", "体育", "望江", "沿河", "高新", "会展",
              "青年", "站前", "货场", "兴业", "创业", "湖滨", "江岸", "东环"]
ROAD_SUFFIXES = ["大道", "一路", "二路", "三路", "巷", "堤", "中路", "支路"]
BRANDS = ["鲜丰", "乐活", "壹健", "蓝鲸", "米粒", "橙心", "大润丰", "优客", "晨光", "伴山"]
SHOP_KINDS = ["生鲜超市", "健身会所", "奶茶店", "宠物医院", "烘焙坊", "KTV", "网咖", "洗车行", "口腔诊所"]
SCHOOLS = ["实验小学", "外国语学校", "第二中学", "育才小学", "职业技术学院"]
FAKE_PROVINCES = ["东岭省", "南陵省", "北川省"]

# Departments: {D} = the district, {c} = the city.
DEPTS = {
    "build": "{D}住房和城乡建设局", "urban": "{D}城市管理综合执法局", "sanit": "{D}环境卫生管理处",
    "market": "{D}市场监督管理局", "traffic": "{c}公安交警支队{D}大队", "transit": "{c}公共交通集团",
    "hr": "{c}人力资源和社会保障局", "edu": "{D}教育局", "health": "{D}卫生健康局", "env": "{c}生态环境局{D}分局",
    "water": "{c}水务集团", "power": "{c}供电公司", "police": "{D}公安分局", "civil": "{D}民政局",
    "econ": "{c}发展和改革委员会", "street": "{S}办事处",
}

# (l1, l2, l3, weight, dept key, bodies). Slots: {e} estate, {b} building no., {r} road, {s} shop,
# {sc} school, {n} a number, {m} money, {k} days.
CATEGORIES: list[tuple[str, str, str, float, str, list[str]]] = [
    ("城建住房", "物业服务", "电梯运行", 3.0, "build", [
        "{e}{b}栋电梯经常停在半层，上周还关了人，物业只是贴个告示",
        "{e}的电梯年检过期了还在用，轿厢晃得厉害",
        "{e}{b}号楼电梯按钮失灵，业主反复报修没人管",
    ]),
    ("城建住房", "物业服务", "公共维修", 3.0, "build", [
        "{e}{b}栋楼顶防水层老化，顶楼住户墙面发霉",
        "{e}地下车库照明坏了一半，晚上完全看不清",
        "{e}单元门禁坏了两个月，外来人员随意进出",
    ]),
    ("城建住房", "物业服务", "物业收费", 2.0, "build", [
        "{e}物业今年把物业费从每平米{n}元涨到更高，没有开业主大会",
        "{e}物业强制收取装修保证金{m}元，交房时又不退",
    ]),
    ("城建住房", "房屋交付", "延期交房", 1.5, "build", [
        "买的{e}合同约定去年底交房，至今没有交付，开发商一直拖延",
        "{e}交房时发现实际面积比合同少了{n}平米，开发商拒绝补差价",
    ]),
    ("城建住房", "建筑施工", "夜间施工", 2.5, "urban", [
        "{r}旁边的工地凌晨还在打桩，噪声大到根本睡不着",
        "{e}对面工地晚上十一点以后还在浇筑混凝土，已经连续{k}天",
    ]),
    ("市容环卫", "垃圾处理", "垃圾清运", 3.0, "sanit", [
        "{e}垃圾桶满了好几天没人清，味道很大，苍蝇很多",
        "{r}路口的垃圾中转站污水横流，夏天臭气熏天",
    ]),
    ("市容环卫", "占道经营", "流动摊贩", 2.0, "urban", [
        "{r}傍晚摆满了烧烤摊，油烟大，车都过不去",
        "{sc}门口每天放学时有流动摊贩卖三无食品",
    ]),
    ("市容环卫", "广告招牌", "违规广告", 0.8, "urban", [
        "{r}沿街商铺的LED招牌晚上亮到很晚，晃得对面住户睡不着",
        "{e}小区电梯里、楼道里到处贴小广告，清理不干净",
    ]),
    ("交通出行", "停车秩序", "违停占道", 3.0, "traffic", [
        "{r}两侧常年有车辆违停，消防通道被堵死",
        "{e}门口的人行道被私家车占满，行人只能走机动车道",
    ]),
    ("交通出行", "公共交通", "公交班次", 2.0, "transit", [
        "{n}路公交车早高峰间隔太长，站台上等半小时都来不了一班",
        "{r}公交站撤掉以后附近居民出行很不方便，建议恢复站点",
    ]),
    ("交通出行", "道路设施", "信号灯配时", 1.2, "traffic", [
        "{r}与{r2}交叉口的红绿灯行人绿灯只有十几秒，老人根本走不过去",
        "{r}路口信号灯坏了好几天，早晚高峰车辆乱成一团",
    ]),
    ("市场监督", "消费维权", "预付卡", 2.0, "market", [
        "在{s}办了{m}元的会员卡，现在门店关了，联系不上老板",
        "{s}办卡时说可以随时退，现在要退卡却说只能转让",
    ]),
    ("市场监督", "食品安全", "餐饮卫生", 1.5, "market", [
        "在{r}的{s}吃完饭全家人拉肚子，怀疑食材不新鲜",
        "{s}后厨和卫生间在一起，卫生条件很差",
    ]),
    ("人社就业", "劳动报酬", "欠薪", 2.5, "hr", [
        "我在{e}项目工地干了{n}个月，包工头一直拖着工资不给，共{m}元",
        "{s}老板拖欠我们{n}个员工两个月工资，人已经找不到了",
    ]),
    ("人社就业", "社会保险", "社保转移", 1.5, "hr", [
        "从外地回来工作，社保关系转移办了{n}个月还没办好",
        "公司一直没给我缴社保，问人事总说在办理",
    ]),
    ("教育文体", "招生入学", "学位划片", 1.5, "edu", [
        "{e}明明离{sc}只有几百米，今年却被划到了很远的学校",
        "咨询{e}业主子女今年秋季入学对口哪所学校",
    ]),
    ("教育文体", "校外培训", "培训退费", 1.0, "edu", [
        "给孩子在培训机构报了{m}元的课，机构突然停课，退费一直拖着",
    ]),
    ("卫健医保", "医疗服务", "看病排队", 1.5, "health", [
        "区人民医院挂号要排{n}个小时，窗口只开两个",
        "社区卫生服务中心下午经常没有医生坐诊",
    ]),
    ("生态环境", "噪声污染", "商业噪声", 1.5, "env", [
        "{e}楼下的{s}音响开到半夜，多次投诉没有效果",
        "{r}的{s}每晚外放音乐，整条街都能听到",
    ]),
    ("生态环境", "大气污染", "油烟异味", 1.2, "env", [
        "{e}底商的餐馆没有安装油烟净化器，油烟直接排进楼上住户家里",
    ]),
    ("公用事业", "供水", "停水水压", 2.0, "water", [
        "{e}今天又停水了，事先没有任何通知",
        "{e}高层水压不够，早晚用水高峰基本没水",
    ]),
    ("公用事业", "供电", "频繁停电", 1.2, "power", [
        "{e}这个月已经停了{n}次电，冰箱里的东西都坏了",
    ]),
    ("平安法治", "治安秩序", "电动车充电", 1.0, "police", [
        "{e}{b}栋有住户从楼上拉电线给电动车充电，存在火灾隐患",
    ]),
    ("民生保障", "养老服务", "老年食堂", 0.8, "civil", [
        "建议在{e}附近开设社区老年食堂，老人吃饭不方便",
    ]),
]
SEASONAL = ("城建住房", "房屋渗漏", "梅雨渗漏", "build", [
    "连续下雨，{e}{b}栋外墙渗水，卧室墙面全湿了",
    "{e}顶楼每逢下雨就漏水，屋里要放好几个盆接水",
    "梅雨季节{e}地下室进水，储藏间的东西都泡了",
], (6, 7))
ASK_BODIES = [
    "咨询公积金提取需要准备哪些材料", "咨询新生儿医保怎么办理", "咨询居住证办理地点和时间",
    "咨询老年人乘车优惠卡怎么申请", "咨询个体工商户注销流程", "咨询失业金领取条件",
]
OPENERS = ["", "", "您好，", "尊敬的领导：您好！", "市长您好，", "你好，", "领导好，", "各位领导好，"]
SELF = ["", "", "本人反映，", "我是{e}的业主，", "我住在{e}，", "我家在{e}{b}栋，"]
CLOSERS = ["", "希望有关部门尽快处理，谢谢！", "恳请政府重视，谢谢领导！", "麻烦尽快派人看看。", "望早日解决。",
           "谢谢！", "请给个答复，感谢！", "Thanks."]
REPEAT_LEADS = ["再次反映：", "上次反映的问题还没解决，", "第{k}次反映了，", "之前打过电话，"]
BURST_BODIES = [
    "{e}{b}栋电梯已经停了{k}天，老人上下楼非常困难，物业说在等配件",
    "{e}电梯又坏了，今天早上还困了人，物业一直不彻底维修",
    "{e}{b}号楼两部电梯都停运了，住在{n}楼的老人下不了楼",
    "{e}电梯停运一个多星期，孕妇和老人只能爬楼，物业推说没钱修",
    "{e}的电梯故障停运，业主多次报修都没修好，要求尽快恢复运行",
]
POLICY_BODIES = [
    "去年买了新能源汽车，购车补贴申请提交后一直显示审核中，已经{n}个月了",
    "新能源车购置补贴承诺三个月内发放，到现在还没到账，打电话也没人说清楚",
    "新能源汽车购车补贴系统一直提示材料不全，但该交的都交了，补贴迟迟不发",
    "请问新能源汽车购置补贴到底什么时候发放，申请的人都在等",
]


@dataclass
class Burst:
    place: str
    district: str
    street: str
    problem: str
    category: str
    order_ids: list[str]
    callers: int
    first: date
    last: date


@dataclass
class Repeat:
    phone: str
    order_ids: list[str]
    place: str
    matter: str
    reason: str = ""


@dataclass
class Policy:
    phrase: str
    category: str
    order_ids: list[str]
    callers: int
    first: date
    last: date


@dataclass
class Seasonal:
    category_l1: str
    category_l2: str
    peak_months: tuple[int, ...]
    years: int


@dataclass
class Truth:
    burst: Burst
    repeats: list[Repeat]
    decoys: list[Repeat]
    policy: Policy
    seasonal: Seasonal | None
    non_dispatched: list[str]
    areas: dict[str, tuple[str, str]]
    area_named: set[str]


@dataclass
class City:
    headers: list[str]
    rows: list[list[str]]
    truth: Truth
    name: str = CITY
    districts: list[str] = field(default_factory=list)

    def frame(self) -> pl.DataFrame:
        return pl.DataFrame(self.rows, schema=self.headers, orient="row")

    def response_counts(self, hours: float = 24) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
        """The answer key for 响应率, read from the raw rows: per street, the orders answered within `hours` of
        dispatch, the dispatched orders, and all orders."""
        fmt = "%Y/%m/%d %H:%M:%S"
        answered, dispatched, everyone = defaultdict(int), defaultdict(int), defaultdict(int)
        for r in (dict(zip(self.headers, row)) for row in self.rows):
            everyone[r["所属街道"]] += 1
            if not r["派单时间"]:
                continue
            dispatched[r["所属街道"]] += 1
            if r["签收时间"] and datetime.strptime(r["签收时间"], fmt) - datetime.strptime(r["派单时间"], fmt) <= timedelta(hours=hours):
                answered[r["所属街道"]] += 1
        return answered, dispatched, everyone

    def write_csv(self, path: str | Path, encoding: str = "utf-8") -> Path:
        path = Path(path)
        with path.open("w", encoding=encoding, newline="") as f:
            w = csv.writer(f)
            w.writerow(self.headers)
            w.writerows(self.rows)
        return path


def _divisions(rng: random.Random, kind: str) -> list[tuple[str, str]]:
    if kind == "beijing":
        s = pl.read_csv(DATA / "beijing_streets_townships.csv", infer_schema=False)
        s = s.filter(pl.col("kind") != "类似乡级单位")
        pairs = list(zip(s["district_name"], s["name"]))
        return rng.sample(pairs, 40)
    roots = rng.sample(STREET_ROOTS, len(STREET_ROOTS))
    pairs = []
    for i, d in enumerate(DISTRICT_NAMES):
        for root in roots[i * 5:(i + 1) * 5]:
            pairs.append((d, root + rng.choice(STREET_KINDS)))
    return pairs


def _short(street: str) -> str:
    for suffix in ("街道", "地区", "镇", "乡"):
        if street.endswith(suffix) and len(street) > len(suffix) + 1:
            return street[: -len(suffix)]
    return street


class _Builder:
    def __init__(self, seed: int, start: date, months: int, divisions: str, anonymised: bool, area_columns: bool):
        self.rng = random.Random(seed)
        rng = self.rng
        self.start = start
        end_month = start.month - 1 + months
        self.end = date(start.year + end_month // 12, end_month % 12 + 1, 1)
        self.days = (self.end - start).days
        self.area_columns = area_columns
        self.anonymised = anonymised
        self.city = "K市" if anonymised else CITY
        self.province = rng.choice(FAKE_PROVINCES) if anonymised else ""
        self.streets = _divisions(rng, divisions)
        self.district_names = sorted({d for d, _ in self.streets})
        self.estates: dict[tuple[str, str], list[str]] = {}
        self.roads: dict[str, list[str]] = {}
        names = [r + s for r in ESTATE_ROOTS for s in ESTATE_SUFFIXES]
        rng.shuffle(names)
        road_names = [r + s for r in ROAD_ROOTS for s in ROAD_SUFFIXES]
        rng.shuffle(road_names)
        for i, area in enumerate(self.streets):
            self.estates[area] = names[i * 6:(i + 1) * 6]
            self.roads[area[1]] = road_names[i * 3:(i + 1) * 3]
        self.street_weight = [rng.uniform(0.3, 2.0) for _ in self.streets]
        self.response_lag = {a: rng.uniform(4, 30) for a in self.streets}
        self.phones: set[str] = set()
        self.rows: list[list[str]] = []
        self.areas: dict[str, tuple[str, str]] = {}
        self.area_named: set[str] = set()
        self.non_dispatched: list[str] = []

    def phone(self) -> str:
        while True:
            p = "1" + self.rng.choice("3456789") + "".join(self.rng.choice("0123456789") for _ in range(9))
            if p not in self.phones:
                self.phones.add(p)
                return p

    def when(self, day: int | None = None) -> datetime:
        rng = self.rng
        day = rng.randrange(self.days) if day is None else day
        hour = rng.choices(range(24), weights=[1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 13, 10, 8, 10, 12, 12, 11, 9, 8, 7, 6, 4, 3, 2])[0]
        return datetime.combine(self.start + timedelta(days=day), datetime.min.time()) + timedelta(
            hours=hour, minutes=rng.randrange(60), seconds=rng.randrange(60))

    def code(self, district: str) -> str:
        """How an anonymised export names a district (K3区)."""
        return f"K{self.district_names.index(district) + 1}区"

    def dept(self, key: str, area: tuple[str, str]) -> str:
        d, s = area
        if self.anonymised:
            d, s = self.code(d), self.code(d) + "街道"
        return DEPTS[key].format(D=d, c=self.city, S=s)

    def fill(self, body: str, area: tuple[str, str], estate: str | None = None, road: str | None = None) -> str:
        rng = self.rng
        roads = self.roads[area[1]]
        return body.format(
            e=estate or rng.choice(self.estates[area]), b=rng.randint(1, 30), r=road or rng.choice(roads),
            r2=rng.choice(roads), s=rng.choice(BRANDS) + rng.choice(SHOP_KINDS), sc=_short(area[1]) + rng.choice(SCHOOLS),
            n=rng.randint(2, 12), m=rng.choice([800, 1500, 2680, 3999, 5000, 12000]), k=rng.randint(3, 15),
        )

    def wrap(self, body: str, area: tuple[str, str], lead: str = "", place_first: bool = False,
             estate: str | None = None) -> tuple[str, bool]:
        """The message around a body, and whether it names the district and street in full."""
        rng = self.rng
        opener = rng.choice(OPENERS)
        me = "" if place_first or lead else self.fill(rng.choice(SELF), area, estate=estate)
        where = ""
        if self.anonymised and rng.random() < 0.3:
            where = f"{self.province}{self.city}{self.code(area[0])}"
        elif not self.area_columns and rng.random() < 0.35:
            where = f"{area[0]}{area[1]}"
        return f"{opener}{where}{me}{lead}{body}。{rng.choice(CLOSERS)}", bool(where) and not self.anonymised

    def address(self, area: tuple[str, str], estate: str, oid: str, named: bool) -> str:
        rng = self.rng
        d, s = area
        if not estate:
            return ""
        road = rng.choice(self.roads[s])
        tail = f"{road}{rng.randint(1, 300)}号{estate}"
        if self.area_columns:
            return tail
        if self.anonymised:
            return f"{self.city}{self.code(d)}{tail}"
        style = rng.random()
        if style < 0.6:
            self.area_named.add(oid)
            return f"{self.city}{d}{s}{tail}"
        if style < 0.8:
            if named:
                self.area_named.add(oid)
            return f"{d}{_short(s)}{tail}"
        if named:
            self.area_named.add(oid)
        return tail

    def add(self, when: datetime, area: tuple[str, str], cat: tuple[str, str, str], dept_key: str, text: str,
            phone: str, estate: str, rtype: str = "投诉", dispatched: bool = True, named: bool = False) -> str:
        rng = self.rng
        oid = f"CJ{when:%y%m%d}{len(self.rows):06d}"
        self.areas[oid] = area
        lag = self.response_lag[area]
        dispatch = when + timedelta(minutes=rng.randint(5, 240))
        deadline_days = 1 if dispatched and cat[2] in ("停水水压", "频繁停电") else 7
        status = rng.choices(["已办结", "办理中", "已受理"], weights=[90, 7, 3])[0]
        if dispatched:
            responded = dispatch + timedelta(hours=rng.expovariate(1 / lag))
            closed = responded + timedelta(hours=rng.uniform(2, 240)) if status == "已办结" else None
            resolution = rng.choices(["已解决", "部分解决", "未解决", ""], weights=[70, 12, 10, 8])[0] if closed else ""
            visit = rng.choices(["满意", "基本满意", "不满意", "未评价"], weights=[68, 14, 10, 8])[0] if closed else ""
            dept = self.dept(dept_key, area)
        else:
            status, responded, dept, resolution = "已办结", None, "", ""
            closed = when + timedelta(minutes=rng.randint(3, 20))
            visit = rng.choices(["满意", "未评价"], weights=[60, 40])[0]
            self.non_dispatched.append(oid)
        fmt = "%Y/%m/%d %H:%M:%S"
        self.rows.append([
            oid, when.strftime(fmt), rng.choices(["电话", "网络", "微信", "APP"], weights=[70, 12, 10, 8])[0], rtype,
            "/".join(cat), text,
            area[0] if self.area_columns else "", area[1] if self.area_columns else "",
            (_short(estate) + "社区") if self.area_columns and estate else "",
            self.address(area, estate, oid, named), phone, dept,
            dispatch.strftime(fmt) if dispatched else "", responded.strftime(fmt) if responded else "",
            (when + timedelta(days=deadline_days)).strftime(fmt) if dispatched else "",
            closed.strftime(fmt) if closed else "", status, resolution, visit,
        ])
        return oid

    def pick_area(self) -> tuple[str, str]:
        return self.rng.choices(self.streets, weights=self.street_weight)[0]

    def background(self, n: int, seasonal: bool) -> None:
        rng = self.rng
        cats = CATEGORIES + ([SEASONAL[:3] + (0.0,) + SEASONAL[3:5]] if seasonal else [])
        weights = [c[3] for c in cats]
        for _ in range(n):
            when = self.when()
            area = self.pick_area()
            if seasonal and when.month in SEASONAL[5] and rng.random() < 0.06:
                c = cats[-1]
            elif rng.random() < 0.12:
                ask = rng.choice(ASK_BODIES)
                estate = rng.choice(self.estates[area])
                text, named = self.wrap(ask, area, estate=estate)
                cat = ("政务咨询", "办事指南", "办事咨询")
                self.add(when, area, cat, "street", text, self.phone(), estate, "咨询", dispatched=False, named=named)
                continue
            else:
                c = rng.choices(cats, weights=weights)[0]
            estate = rng.choice(self.estates[area])
            body = self.fill(rng.choice(c[5]), area, estate=estate)
            text, named = self.wrap(body, area, estate=estate)
            rtype = "咨询" if body.startswith("咨询") else rng.choices(["投诉", "求助", "建议", "举报"], weights=[70, 15, 10, 5])[0]
            self.add(when, area, c[:3], c[4], text, self.phone(), estate, rtype, named=named)

    def burst(self, callers: int) -> Burst:
        rng = self.rng
        month0 = self.start + timedelta(days=self.days // 2)
        first = date(month0.year, month0.month, 4)
        area = self.streets[rng.randrange(len(self.streets))]
        estate = self.estates[area][0]
        ids = []
        for i in range(callers):
            phone = self.phone()
            calls = 2 if i % 9 == 0 else 1
            day = (first - self.start).days + min(20, int(rng.triangular(0, 21, 5)))
            for j in range(calls):
                body = self.fill(rng.choice(BURST_BODIES), area, estate=estate)
                text, named = self.wrap(body, area, place_first=True)
                when = self.when(day + j)
                ids.append(self.add(when, area, CATEGORIES[0][:3], "build", text, phone, estate, "投诉", named=named))
        dates = [datetime.strptime(r[1], "%Y/%m/%d %H:%M:%S").date() for r in self.rows[-len(ids):]]
        return Burst(estate, area[0], area[1], "电梯", "/".join(CATEGORIES[0][:3]), ids, callers, min(dates), max(dates))

    def policy(self, callers: int) -> Policy:
        rng = self.rng
        first_day = self.days // 4
        ids = []
        for _ in range(callers):
            area = self.pick_area()
            when = self.when(first_day + int(rng.uniform(0, 28)))
            body = self.fill(rng.choice(POLICY_BODIES), area)
            opener = rng.choice(OPENERS)
            text = f"{opener}{body}。{rng.choice(CLOSERS)}"
            ids.append(self.add(when, area, ("经济发展", "补贴政策", "购车补贴"), "econ", text, self.phone(), "",
                                rng.choice(["投诉", "咨询"])))
        dates = [datetime.strptime(r[1], "%Y/%m/%d %H:%M:%S").date() for r in self.rows[-len(ids):]]
        return Policy("新能源汽车购车补贴", "经济发展/补贴政策/购车补贴", ids, callers, min(dates), max(dates))

    def caller_series(self, offsets: list[int], same_matter: bool, reason: str) -> Repeat:
        rng = self.rng
        phone = self.phone()
        area = self.pick_area()
        estate = rng.choice(self.estates[area])
        day0 = rng.randrange(0, self.days - max(offsets) - 1)
        c = rng.choice(CATEGORIES)
        body = self.fill(rng.choice(c[5]), area, estate=estate)
        ids = []
        for k, off in enumerate(offsets):
            if not same_matter and k:
                c = rng.choice([x for x in CATEGORIES if x[0] != c[0]])
                body = self.fill(rng.choice(c[5]), area, estate=rng.choice(self.estates[area]))
            lead = rng.choice(REPEAT_LEADS).format(k=k + 1) if k and same_matter else ""
            text, named = self.wrap(body, area, lead=lead, estate=estate)
            ids.append(self.add(self.when(day0 + off), area, c[:3], c[4], text, phone, estate, "投诉", named=named))
        return Repeat(phone, ids, estate, "/".join(c[:3]), reason)


def generate(seed: int = 7, orders: int = 20_000, start: date = date(2025, 1, 1), months: int = 12,
             area_columns: bool = True, divisions: str = "invented", anonymised: bool = False,
             burst_callers: int = 60, policy_callers: int = 36, repeat_callers: int = 15) -> City:
    """A city export of about `orders` rows over `months` months from `start`, with planted truths."""
    if divisions not in ("invented", "beijing"):
        raise ValueError("divisions 只能是 invented 或 beijing")
    if months < 3:
        raise ValueError("months 至少为 3")
    b = _Builder(seed, start, months, divisions, anonymised, area_columns)
    seasonal = months >= 36
    planted = burst_callers * 1.2 + policy_callers + repeat_callers * 4 + 40 * 3
    b.background(max(0, orders - int(planted)), seasonal)
    burst = b.burst(burst_callers)
    policy = b.policy(policy_callers)
    repeats = [b.caller_series([0] + sorted(b.rng.sample(range(1, 28), b.rng.randint(2, 4))), True,
                               "同一来电人同一事项30天内≥3次") for _ in range(repeat_callers)]
    decoys = (
        [b.caller_series([0, b.rng.randint(1, 25)], True, "只有2次") for _ in range(15)]
        + [b.caller_series([0, 31, 62], True, "3次但跨度超过30天") for _ in range(10)]
        + [b.caller_series([0, 5, 12], False, "3次但事项不同") for _ in range(10)]
    )
    order = sorted(range(len(b.rows)), key=lambda i: b.rows[i][1])
    rows = [b.rows[i] for i in order]
    truth = Truth(
        burst=burst, repeats=repeats, decoys=decoys, policy=policy,
        seasonal=Seasonal(SEASONAL[0], SEASONAL[1], SEASONAL[5], months // 12) if seasonal else None,
        non_dispatched=b.non_dispatched, areas=b.areas, area_named=b.area_named,
    )
    headers = HEADERS if area_columns else [h for h in HEADERS if h not in AREA_HEADERS]
    if not area_columns:
        keep = [i for i, h in enumerate(HEADERS) if h not in AREA_HEADERS]
        rows = [[r[i] for i in keep] for r in rows]
    return City(headers, rows, truth, b.city, b.district_names)
