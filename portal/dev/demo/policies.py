"""Seeded generator of realistic Chinese policies across the four levels, with labels and guides."""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from core.models import Region
from policies.models import Department, Level, Policy, PolicyLabelCategory

TITLE_PATTERNS = [
    "关于开展{year}年度{label}项目申报工作的通知",
    "{place}关于加快推进{category}的若干政策措施",
    "{place}{label}实施细则",
    "{place}{label}专项资金管理办法",
    "关于组织申报{year}年{label}的通知",
    "{place}促进{category}高质量发展的实施意见",
    "{place}关于{label}的若干措施（{year}年修订）",
]
# Document-number prefix (发文字号) of each issuing department in reference.json.
DOC_PREFIX = {
    "GWY": "国办发", "NDRC": "发改高技", "MIIT": "工信部企业", "MOST": "国科发", "MOF": "财税", "MOFCOM": "商财发",
    "MOHRSS": "人社部发", "STA": "税总函", "CNIPA": "国知发", "JS-GOV": "苏政办发", "JS-DRC": "苏发改",
    "JS-IIT": "苏工信", "JS-ST": "苏科技规", "JS-FIN": "苏财规", "JS-COM": "苏商", "JS-HRSS": "苏人社规",
    "JS-TAX": "苏税发", "JS-AMR": "苏市监", "WX-GOV": "锡政办发", "WX-DRC": "锡发改", "WX-IIT": "锡工信发",
    "WX-ST": "锡科规", "WX-FIN": "锡财工贸", "WX-COM": "锡商发", "WX-HRSS": "锡人社发", "WX-AMR": "锡市监",
    "WX-DATA": "锡数据", "WX-EE": "锡环发", "WX-FO": "锡金办", "LX-GOV": "梁政发", "XS-GOV": "锡山政发",
    "HS-GOV": "惠政办发", "BH-GOV": "锡滨政发", "XW-GOV": "锡新管发", "JK-GOV": "锡经开发", "JY-GOV": "澄政发",
    "YX-GOV": "宜政办发", "XW-ST": "新科发", "BH-ST": "滨科发", "HS-IIT": "惠工信发",
}  # fmt: skip
# Where each level's service counter is (受理地址).
SERVICE_HALL = {
    Level.NATIONAL: "无锡市政务服务中心（观山路199号）",
    Level.PROVINCIAL: "无锡市政务服务中心（观山路199号）",
    Level.CITY: "无锡市政务服务中心（观山路199号）",
}
PLACE = {Level.NATIONAL: "", Level.PROVINCIAL: "江苏省", Level.CITY: "无锡市"}
BENEFICIARIES = [
    "在本市注册登记、具有独立法人资格的企业",
    "在本区（市）依法注册、正常经营的中小微企业",
    "经认定的高新技术企业和科技型中小企业",
    "规模以上工业企业及重点服务业企业",
    "专精特新中小企业及“小巨人”企业",
]
CONDITIONS = [
    "在无锡市行政区域内依法登记注册，具有独立法人资格；",
    "近三年内未发生重大安全生产、环境污染、产品质量事故，无严重失信记录；",
    "上年度研发费用占营业收入比例不低于3%；",
    "上年度营业收入不低于500万元，且保持增长；",
    "依法纳税，社会保险缴纳正常，财务制度健全；",
    "项目已于上年度内完成投资并通过验收；",
    "拥有与主营产品相关的自主知识产权；",
    "同一项目不得重复享受市级同类财政资金支持。",
]
MATERIALS = [
    "项目申报书（系统在线填写后打印盖章）",
    "营业执照复印件",
    "上年度财务审计报告",
    "研发费用专项审计报告",
    "知识产权证明材料",
    "项目投资发票及付款凭证",
    "信用承诺书",
    "相关资质证书复印件",
]
STEPS = [
    "登录惠企直达平台，在线填写申报信息并上传材料",
    "所在区（市）主管部门进行初审",
    "市级主管部门组织专家评审或现场核查",
    "拟支持名单公示（不少于5个工作日）",
    "资金拨付至企业对公账户",
]
NO_APPLICATION_STEPS = [
    "平台依据部门共享数据自动比对，符合条件的企业无需申报",
    "拟兑现名单公示（不少于5个工作日）",
    "资金直接拨付至企业对公账户",
]
DELIVERY_WEIGHTS = [(Policy.Delivery.REGULAR, 65), (Policy.Delivery.INSTANT, 20), (Policy.Delivery.NO_APPLICATION, 15)]
LEVEL_WEIGHTS = [(Level.NATIONAL, 12), (Level.PROVINCIAL, 18), (Level.CITY, 40), (Level.DISTRICT, 30)]
STATUS_WEIGHTS = [
    (Policy.Status.PUBLISHED, 85),
    (Policy.Status.DRAFT, 5),
    (Policy.Status.PENDING, 5),
    (Policy.Status.EXPIRED, 3),
    (Policy.Status.WITHDRAWN, 2),
]


FULL_TEXT = (
    "第一条 为贯彻落实党中央、国务院和省委省政府关于支持实体经济发展的决策部署，制定本办法。\n"
    "第二条 本办法支持对象为{beneficiary}。\n"
    "第三条 对符合条件的企业，按照{label}相关标准给予支持。"
)


# Audience rules by label category: some narrow (a qualification), some broad (size, sector).
RULES_BY_CATEGORY = {
    "KJCX": [{"any": [{"tag": "QUAL01"}, {"tag": "QUAL02"}]}],
    "CYFZ": [{"tag": "QUAL03"}],
    "ZSCQ": [{"tag": "QUAL01"}, {"field": "employees", "op": "gte", "value": 10}],
    "RCPY": [{"field": "employees", "op": "gte", "value": 20}],
    "SZZX": [{"field": "industry", "op": "prefix", "value": "C"}, {"field": "employees", "op": "gte", "value": 50}],
    "LSDT": [{"any": [{"field": "industry", "op": "prefix", "value": "C"},
                      {"field": "industry", "op": "prefix", "value": "D"}]},
             {"field": "annual_revenue", "op": "gte", "value": 2000}],
    "QYRZ": [{"field": "size_class", "op": "in", "value": ["small", "micro"]}],
    "CYFC": [{"field": "age_years", "op": "lte", "value": 3}],
    "WMWZ": [{"tag": "OWN05"}],
    "CZJR": [{"tag": "SIZE05"}],
    "JSJF": [{"tag": "SIZE05"}, {"not": {"tag": "XYHG03"}}],
    "WGJY": [{"field": "employees", "op": "gte", "value": 10}, {"not": {"tag": "XYHG03"}}],
    "FWYF": [{"any": [{"field": "industry", "op": "prefix", "value": p} for p in ("F", "G", "H", "L", "M")]}],
}  # fmt: skip


# Most real policies also aim at a sector, a qualification or a size band; one of these is added.
FOCUS = [
    {"field": "industry", "op": "prefix", "value": "C"},
    {"field": "industry", "op": "prefix", "value": "I"},
    {"field": "industry", "op": "prefix", "value": "F"},
    {"field": "industry", "op": "prefix", "value": "M"},
    {"field": "industry", "op": "prefix", "value": "C39"},
    {"field": "industry", "op": "prefix", "value": "E"},
    {"tag": "QUAL01"},
    {"tag": "QUAL02"},
    {"tag": "QUAL05"},
    {"field": "size_class", "op": "in", "value": ["medium", "large"]},
    {"field": "size_class", "op": "in", "value": ["small"]},
    {"field": "age_years", "op": "gte", "value": 5},
    {"field": "annual_revenue", "op": "gte", "value": 500},
]


def _audience_rule(rng: random.Random, category_code: str, region) -> dict:
    parts = list(RULES_BY_CATEGORY.get(category_code, []))
    if rng.random() < 0.85:
        focus = rng.choice(FOCUS)
        if focus not in parts:
            parts.append(focus)
    if region is not None:
        parts.append({"field": "region", "op": "in", "value": [region.code]})
    return {"all": parts}


def _pick(rng: random.Random, weighted):
    items, weights = zip(*weighted, strict=True)
    return rng.choices(items, weights)[0]


@transaction.atomic
def generate_policies(*, count: int, seed: int = 20261122) -> int:
    """Create ``count`` policies (mostly published, some in other states) with labels and departments."""
    rng = random.Random(seed)
    today = timezone.localdate()
    now = timezone.now()
    departments: dict[str, list[Department]] = {}
    for dept in Department.objects.select_related("region"):
        departments.setdefault(dept.level, []).append(dept)
    categories = list(PolicyLabelCategory.objects.prefetch_related("labels"))
    districts = list(Region.objects.filter(parent__isnull=False))
    policies, label_links, dept_links = [], [], []
    for _ in range(count):
        level = _pick(rng, LEVEL_WEIGHTS)
        dept = rng.choice(departments[level])
        region = dept.region if level == Level.DISTRICT else None
        if level == Level.DISTRICT and region is None:
            region = rng.choice(districts)
        category = rng.choice(categories)
        labels = rng.sample(list(category.labels.all()), k=min(rng.randint(1, 3), category.labels.count()))
        if rng.random() < 0.3:
            other = rng.choice(categories)
            labels.append(rng.choice(list(other.labels.all())))
        main = labels[0]
        place = region.name if region else PLACE[level]
        title = rng.choice(TITLE_PATTERNS).format(year=today.year, label=main.name, category=category.name, place=place)
        delivery = _pick(rng, DELIVERY_WEIGHTS)
        status = _pick(rng, STATUS_WEIGHTS)
        amount = Decimal(rng.choice([5, 10, 20, 30, 50, 100, 200, 300, 500, 1000]))
        # Most published policies are taking applications now; about one in ten closed recently (still valid,
        # shown as 已截止 and never pushed), about one in sixteen opens within a week.
        start = today + datetime.timedelta(days=rng.randint(-115, 8))
        end = start + datetime.timedelta(days=rng.randint(50, 210))
        valid_until = today + datetime.timedelta(days=rng.randint(120, 900))
        if status == Policy.Status.EXPIRED:
            valid_until = today - datetime.timedelta(days=rng.randint(1, 200))
            end = min(end, valid_until)
            start = min(start, end - datetime.timedelta(days=20))
        beneficiary = rng.choice(BENEFICIARIES)
        year = today.year - rng.randint(0, 2)
        hall = SERVICE_HALL.get(level) or f"无锡市{place}政务服务中心"
        conditions = rng.sample(CONDITIONS, k=rng.randint(3, 5))
        no_application = delivery == Policy.Delivery.NO_APPLICATION
        policies.append(
            Policy(
                title=title,
                short_title=main.name[:12],
                doc_number=f"{DOC_PREFIX.get(dept.code, '锡政发')}〔{year}〕{rng.randint(1, 180)}号",
                level=level,
                region=region,
                summary=f"对{beneficiary}，围绕{main.name}给予支持，单个企业最高不超过{amount}万元。",
                full_text=FULL_TEXT.format(beneficiary=beneficiary, label=main.name),
                beneficiaries=beneficiary,
                conditions="\n".join(f"{i}. {c}" for i, c in enumerate(conditions, 1)),
                support_standard=f"按项目实际投入的{rng.choice([10, 15, 20, 30])}%给予补助，最高不超过{amount}万元。",
                max_amount=amount,
                materials=[] if no_application else rng.sample(MATERIALS, k=rng.randint(3, 6)),
                steps=NO_APPLICATION_STEPS if no_application else STEPS[: rng.randint(3, 5)],
                delivery=delivery,
                apply_start=start,
                apply_end=end,
                valid_from=start,
                valid_until=valid_until,
                contact_office=f"{dept.name}{rng.choice(['企业服务处', '综合处', '政策法规科', '产业发展科'])}",
                contact_phone=f"0510-{rng.randint(80000000, 88999999)}",
                contact_address=f"{hall}{rng.randint(1, 5)}楼综合窗口",
                apply_url="",
                interpretation=f"一句话读懂：{beneficiary}，符合条件即可享受{main.name}支持，最高{amount}万元。",
                audience_rule=_audience_rule(rng, category.code, region),
                status=status,
                published_at=now - datetime.timedelta(days=rng.randint(0, 120))
                if status in {Policy.Status.PUBLISHED, Policy.Status.EXPIRED, Policy.Status.WITHDRAWN}
                else None,
            )
        )  # fmt: skip
        label_links.append(labels)
        dept_links.append(dept)
    created = bulk_create_with_history(policies, Policy, default_change_reason="演示数据生成")
    if created and created[0].pk is None:  # some backends do not return ids; PostgreSQL does
        raise RuntimeError("bulk_create did not return primary keys")
    label_through, dept_through = Policy.labels.through, Policy.departments.through
    label_through.objects.bulk_create(
        [
            label_through(policy=p, policylabel=label)
            for p, ls in zip(created, label_links, strict=True)
            for label in set(ls)
        ]
    )
    dept_through.objects.bulk_create(
        [dept_through(policy=p, department=d) for p, d in zip(created, dept_links, strict=True)]
    )
    return len(created)
