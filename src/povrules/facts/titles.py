"""Titles of the enumerated values of the facts, in Chinese and English.

Every closed set of values a fact field takes (``Literal[...]`` in the fact models) is a
*vocabulary* here: each value with the words a caseworker reads for it, in Chinese as the
policy texts name it (脱贫户, 风险消除, 因病 …) and in English. Explanations and views show a
value by its title (:func:`povrules.wording.value_title`); the JSON Schema of the facts lists
the titles beside each ``enum`` (``x-titles``).

A vocabulary is found by its set of values, which is what a fact field's type holds
(:class:`povrules.lang.types.EnumType`); no two vocabularies share one set.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

Title = tuple[str, str]
"""A title as ``(zh, en)``."""

_VOCABULARIES: dict[str, dict[str, Title]] = {
    "Relation": {
        "head": ("户主", "head of the household"),
        "spouse": ("配偶", "spouse"),
        "child": ("子女", "child"),
        "child_in_law": ("儿媳或女婿", "child-in-law"),
        "grandchild": ("孙子女或外孙子女", "grandchild"),
        "parent": ("父母", "parent"),
        "parent_in_law": ("岳父母或公婆", "parent-in-law"),
        "grandparent": ("祖父母或外祖父母", "grandparent"),
        "sibling": ("兄弟姐妹", "brother or sister"),
        "other": ("其他关系", "other relation"),
    },
    "ParentRole": {
        "father": ("父亲", "father"),
        "mother": ("母亲", "mother"),
    },
    "LoanKind": {
        "microcredit": ("扶贫小额信贷", "poverty-alleviation microcredit"),
        "guaranteed": ("担保贷款", "guaranteed loan"),
        "student_origin": ("生源地信用助学贷款", "student loan from the place of origin"),
        "startup": ("创业担保贷款", "guaranteed start-up loan"),
        "enterprise_linked": ("带资入企贷款", "loan put into an enterprise that pays the household"),
        "relocation": ("搬迁贷款", "relocation loan"),
        "other": ("其他贷款", "other loan"),
    },
    "LoanPurpose": {
        "production": ("生产经营", "production"),
        "startup": ("创业", "starting a business"),
        "education": ("助学", "education"),
        "housing": ("住房", "housing"),
        "consumption": ("消费", "consumption"),
        "other": ("其他用途", "another purpose"),
    },
    "LabourCapacity": {
        "full": ("有劳动能力", "able to work"),
        "partial": ("部分丧失劳动能力", "partly able to work"),
        "weak": ("弱劳动能力", "weak labour capacity"),
        "none": ("无劳动能力", "unable to work"),
    },
    "LabourLossCause": {
        "illness": ("因病", "illness"),
        "injury": ("因伤", "injury"),
        "disability": ("因残", "disability"),
        "age": ("年老", "old age"),
        "other": ("其他原因", "another cause"),
    },
    "Health": {
        "healthy": ("健康", "healthy"),
        "chronic": ("患有慢性病", "chronic illness"),
        "serious_illness": ("患有大病", "serious illness"),
    },
    "DailyLiving": {
        "independent": ("生活能自理", "independent in daily living"),
        "semi_disabled": ("半失能", "partly dependent (半失能)"),
        "disabled": ("失能", "dependent (失能)"),
    },
    "EducationStage": {
        "none": ("未上学", "not in education"),
        "preschool": ("学前教育", "preschool"),
        "primary": ("小学", "primary school"),
        "junior": ("初中", "junior secondary school"),
        "senior_general": ("普通高中", "general senior secondary school"),
        "secondary_vocational": ("中职", "secondary vocational school"),
        "technical": ("技工院校", "technical school"),
        "junior_college": ("大专", "junior college"),
        "undergraduate": ("本科", "undergraduate"),
        "postgraduate": ("研究生", "postgraduate"),
    },
    "SchoolingKind": {
        "normal": ("正常就读", "ordinary enrolment"),
        "high_fee_selection": ("高收费择校", "high-fee school chosen over the assigned one"),
        "high_fee_private": ("高收费民办学校", "high-fee private school"),
        "self_funded_abroad": ("自费出国留学", "self-funded study abroad"),
    },
    "EmployerType": {
        "none": ("无就业单位", "no employer"),
        "state_organ": ("国家机关", "state organ"),
        "public_institution": ("事业单位", "public institution"),
        "state_enterprise": ("国有企业", "state-owned enterprise"),
        "enterprise": ("企业", "enterprise"),
        "self": ("自主经营", "self-employed"),
        "other": ("其他单位", "other employer"),
    },
    "VillagePost": {
        "none": ("无村干部职务", "no village post"),
        "party_secretary": ("村党组织书记", "village Party secretary"),
        "committee_director": ("村委会主任", "village committee director"),
        "other": ("其他村干部职务", "other village post"),
    },
    "IllegalConduct": {
        "gambling": ("赌博", "gambling"),
        "drugs": ("吸毒", "drug taking"),
        "illegal_business": ("违法经营", "illegal business"),
        "medical_fund_fraud": ("骗取医保基金", "medical insurance fraud"),
        "other_crime": ("其他违法犯罪", "other offence"),
    },
    "IncomeKind": {
        "wage": ("工资性收入", "wage income"),
        "business": ("经营性收入", "business income"),
        "property": ("财产性收入", "property income"),
        "transfer": ("转移性收入", "transfer income"),
        "policy": ("政策性补贴收入", "policy subsidy income"),
        "insurance_claims": ("理赔收入", "insurance claim income"),
        "other": ("其他收入", "other income"),
    },
    "ExpenditureKind": {
        "medical_compliant_out_of_pocket": ("合规自付医疗费用", "compliant out-of-pocket medical cost"),
        "medical": ("医疗支出", "medical expenditure"),
        "education": ("教育支出", "education expenditure"),
        "other": ("其他支出", "other expenditure"),
    },
    "CropKind": {
        "mustard_tuber": ("榨菜（青菜头）", "mustard tuber"),
        "vegetable": ("蔬菜", "vegetables"),
        "fruit": ("水果", "fruit"),
        "sweet_potato": ("红薯", "sweet potato"),
        "peanut": ("花生", "peanut"),
        "grain": ("粮食作物", "grain"),
        "other": ("其他作物", "other crop"),
    },
    "CareSetting": {
        "inpatient": ("住院", "inpatient"),
        "special_chronic_outpatient": ("特殊慢性病门诊", "special chronic-disease outpatient"),
        "outpatient": ("普通门诊", "other outpatient"),
        "other": ("其他", "other"),
    },
    "EmploymentGroup": {
        "unenrolled_graduate": ("城乡未继续升学初高中毕业生", "junior or senior graduate not continuing school"),
        "rural_transfer_worker": ("农村转移就业劳动者", "rural worker moving into employment"),
        "laid_off": ("下岗失业人员", "laid-off or unemployed"),
        "veteran": ("退役军人", "veteran"),
        "employment_difficulty": ("就业困难人员", "person with employment difficulty"),
        "urban_registered_unemployed": ("城镇登记失业人员", "registered urban unemployed"),
        "released_prisoner": ("刑满释放人员", "released prisoner"),
        "college_graduate": ("高校毕业生", "college graduate"),
        "overcapacity_worker": ("化解过剩产能企业职工和失业人员", "worker laid off in capacity reduction"),
        "returning_migrant_entrepreneur": ("返乡创业农民工", "migrant worker returning to start a business"),
        "online_merchant": ("网络商户", "online merchant"),
        "rural_self_employed": ("农村自主创业农民", "self-employed rural entrepreneur"),
    },
    "WaterPipe": {
        "connected": ("已接通", "connected"),
        "not_connected": ("未接通", "not connected"),
        "damaged": ("破损", "damaged"),
    },
    "RenovationKind": {
        "rebuild": ("重建", "rebuilt"),
        "repair": ("修缮加固", "repaired and reinforced"),
    },
    "VehicleKind": {
        "car": ("小轿车", "car"),
        "minivan": ("面包车", "minivan"),
        "passenger_vehicle": ("客车", "passenger vehicle"),
        "truck": ("货车", "lorry"),
        "motorcycle": ("摩托车", "motorcycle"),
        "tricycle": ("三轮车", "tricycle"),
        "agricultural_vehicle": ("农用车", "farm vehicle"),
        "engineering_machinery": ("工程机械", "construction machinery"),
        "large_agricultural_machinery": ("大型农机具", "large farm machinery"),
    },
    "VehicleUse": {
        "private": ("自用", "private use"),
        "production": ("生产用", "for production"),
        "commercial": ("营运", "commercial use"),
    },
    "VehicleSize": {
        "large": ("大型", "large"),
        "medium": ("中型", "medium"),
        "small": ("小型", "small"),
        "mini": ("微型", "mini"),
    },
    "PropertyKind": {
        "commodity_housing": ("商品房", "commercial housing"),
        "shop": ("门面房", "shop premises"),
        "self_built": ("自建房", "self-built house"),
        "relocation_apartment": ("易地扶贫搬迁安置房", "relocation flat"),
        "affordable": ("保障性住房", "affordable housing"),
        "other": ("其他房产", "other property"),
    },
    "PropertyLocation": {
        "urban": ("城镇", "in a town or city"),
        "rural": ("农村", "in the countryside"),
    },
    "PropertyOrigin": {
        "purchase": ("购买", "bought"),
        "self_build": ("自建", "built by the household"),
        "disaster_rebuild": ("灾后重建", "rebuilt after a disaster"),
        "poverty_relocation": ("易地扶贫搬迁", "poverty relocation"),
        "demolition_resettlement": ("拆迁安置", "resettlement after demolition"),
        "dilapidated_renovation_subsidy": ("危房改造补助", "dilapidated-housing renovation subsidy"),
        "inheritance": ("继承", "inherited"),
        "other": ("其他来源", "obtained otherwise"),
    },
    "EnterpriseRole": {
        "owner": ("经营者", "owner"),
        "legal_person": ("法定代表人", "legal representative"),
        "shareholder": ("股东", "shareholder"),
    },
    "SafetyGrade": {
        "A": ("A级", "grade A"),
        "B": ("B级", "grade B"),
        "C": ("C级危房", "grade C (dilapidated)"),
        "D": ("D级危房", "grade D (dilapidated)"),
    },
    "RegistrationStatus": {
        "general": ("一般农户", "ordinary household"),
        "registered_poor": ("建档立卡贫困户", "registered poor household"),
        "exited": ("脱贫户", "household out of poverty"),
        "exited_no_policy": ("脱贫不享受政策户", "out of poverty, no longer receiving support"),
    },
    "RelocationPlacement": {
        "not_relocated": ("未扶贫搬迁", "not moved by poverty relocation"),
        "centralised": ("集中安置", "resettled at a centralised site"),
        "dispersed": ("分散安置", "resettled dispersedly"),
    },
    "Tekun": {
        "none": ("非特困供养", "not in extreme-hardship support"),
        "dispersed": ("分散供养特困人员", "extreme-hardship support at home"),
        "centralised": ("集中供养特困人员", "extreme-hardship support in an institution"),
    },
    "PovertyCause": {
        "illness": ("因病", "illness"),
        "disability": ("因残", "disability"),
        "education": ("因学", "education costs"),
        "disaster": ("因灾", "disaster"),
        "lack_of_land": ("缺土地", "lack of land"),
        "lack_of_water": ("缺水", "lack of water"),
        "lack_of_skills": ("缺技术", "lack of skills"),
        "lack_of_labour": ("缺劳力", "lack of labour"),
        "lack_of_funds": ("缺资金", "lack of funds"),
        "poor_transport": ("交通条件落后", "poor transport"),
        "lack_of_motivation": ("自身发展动力不足", "lack of drive to develop"),
        "other": ("其他致贫原因", "another cause"),
    },
    "MonitoringStatus": {
        "none": ("未纳入监测", "not monitored"),
        "monitored": ("监测对象", "monitored"),
        "tracked_attention": ("跟踪关注", "followed with attention"),
        "risk_eliminated": ("风险已消除", "risk eliminated"),
        "rolled_back": ("风险消除已回退", "risk elimination rolled back"),
        "removed": ("退出监测", "removed from monitoring"),
    },
    "MonitoringType": {
        "unstable_exited": ("脱贫不稳定户", "household out of poverty but unstable"),
        "edge_vulnerable": ("边缘易致贫户", "household on the edge, liable to fall into poverty"),
        "sudden_hardship": ("突发严重困难户", "household in sudden severe hardship"),
        "exited_monitored": ("脱贫监测户", "household out of poverty, monitored"),
        "edge": ("边缘户", "household on the edge"),
    },
    "RiskCause": {
        "illness": ("因病", "illness"),
        "education": ("因学", "education costs"),
        "disability": ("因残", "disability"),
        "disaster": ("因灾", "disaster"),
        "accident": ("因意外事故", "accident"),
        "industry_failure": ("产业经营失败", "failed business"),
        "unstable_employment": ("务工就业不稳", "unstable work"),
        "lack_of_labour": ("缺劳动力", "lack of labour"),
        "housing": ("住房出现安全问题", "housing safety"),
        "drinking_water": ("饮水安全问题", "drinking water safety"),
        "other": ("其他风险", "another risk"),
        "family_change": ("家庭变故", "a change in the family"),
    },
    "DisasterSeverity": {
        "none": ("未受灾", "no disaster"),
        "minor": ("轻度受灾", "minor"),
        "severe": ("严重受灾", "severe"),
    },
    "FundClass": {
        "poverty": ("扶贫项目", "poverty-alleviation project"),
        "agri_related": ("涉农项目", "agriculture-related project"),
        "other": ("其他项目", "other project"),
    },
    "Delivery": {
        "to_household": ("扶贫到户", "to the household"),
        "coverage": ("覆盖到", "covering the area"),
    },
    "OverrideBody": {
        "村民代表会议": ("村民代表会议", "villagers' representative meeting"),
        "村民主评议": ("村民主评议", "village democratic appraisal"),
        "村两委": ("村两委", "village Party branch and committee"),
        "乡镇审核": ("乡镇审核", "township review"),
        "县级审定": ("县级审定", "county approval"),
        "学校学生资助工作领导小组": ("学校学生资助工作领导小组", "the school's student-aid group"),
    },
    "CaseKind": {
        "identification": ("贫困户识别", "identification as a poor household"),
        "monitoring_inclusion": ("纳入监测", "inclusion in monitoring"),
        "risk_elimination": ("风险消除", "risk elimination"),
        "exit": ("脱贫退出", "exit from poverty"),
        "reentry": ("返贫重新纳入", "re-entry after a return to poverty"),
        "assistance": ("帮扶措施", "assistance measures"),
        "pv_participation": ("光伏扶贫项目受益户确定", "selection for a PV project"),
        "student_aid": ("学生资助", "student aid"),
        "loan": ("扶贫小额信贷", "poverty-alleviation loan"),
    },
    "Step": {
        "application": ("农户申请", "application"),
        "discovery": ("发现", "discovery"),
        "nomination": ("村级提名", "nomination by the village"),
        "department_screening": ("部门筛查预警", "department screening"),
        "household_visit": ("入户核查", "household visit"),
        "group_appraisal": ("村民小组评议", "villager group appraisal"),
        "village_deliberation": ("村级民主评议", "village democratic appraisal"),
        "village_review": ("村两委和驻村工作队审核", "village review"),
        "village_posting": ("村级公示", "village posting"),
        "objection": ("异议", "objection"),
        "objection_handled": ("异议处理", "objection handled"),
        "school_review": ("学校认定审核", "the school's recognition and review"),
        "school_posting": ("学校公示", "posting by the school"),
        "township_review": ("乡镇审核", "township review"),
        "township_posting": ("乡镇公示", "township posting"),
        "county_comparison": ("县级比对", "county data comparison"),
        "county_approval": ("县级审定", "county approval"),
        "county_posting": ("县级公告", "county announcement"),
        "city_approval": ("市级审批", "city approval"),
        "city_filing": ("市级备案", "filing with the city"),
        "registration": ("录入系统", "entry into the register"),
        "notice": ("告知农户", "notice to the household"),
        "helper_assigned": ("确定帮扶责任人", "helper assigned"),
        "plan_made": ("制定帮扶计划", "assistance plan made"),
        "measures_started": ("落实帮扶措施", "measures started"),
        "helper_visit": ("帮扶走访", "helper's visit"),
        "helper_contact": ("电话、短信、微信联系", "contact by phone or message"),
        "credit_rating": ("信用评级", "credit rating"),
        "consent": ("签字同意", "signed consent"),
        "bank_review": ("银行审查", "bank review"),
        "payment": ("资金发放", "payment"),
        "report": ("上报", "report upwards"),
        "agreement": ("签订协议", "agreement signed"),
        "extension": ("贷款展期", "loan extension"),
        "pre_exit_marking": ("预脱贫标注", "marked to exit (pre-exit)"),
    },
    "Actor": {
        "household": ("农户", "the household"),
        "villager_group": ("村民小组", "villager group"),
        "villager_representatives": ("村民代表", "villager representatives"),
        "village_committee": ("村两委", "village Party branch and committee"),
        "resident_team": ("驻村工作队", "resident work team"),
        "helper": ("帮扶责任人", "responsible helper"),
        "township": ("乡镇党委政府", "township"),
        "county_office": ("县扶贫（乡村振兴）部门", "county poverty office"),
        "county_government": ("县级人民政府", "county government"),
        "department": ("行业部门", "a line department"),
        "bank": ("银行", "bank"),
        "school": ("学校", "school"),
        "education_bureau": ("教育行政部门", "education bureau"),
        "enterprise": ("企业", "enterprise"),
    },
    "PostingPlace": {
        "group": ("村民小组", "villager group"),
        "village": ("村务公开栏", "village notice board"),
        "township": ("乡镇公开栏", "township notice board"),
        "county": ("县级公告", "county announcement"),
        "school": ("校内公示栏", "school notice board"),
        "online": ("网上公示", "online"),
    },
    "StepOutcome": {
        "done": ("已完成", "done"),
        "passed": ("通过", "passed"),
        "failed": ("未通过", "not passed"),
        "objection": ("有异议", "objection raised"),
        "no_objection": ("无异议", "no objection"),
    },
    "OverrideOutcome": {
        "set_aside": ("排除", "set aside"),
        "upheld": ("维持", "upheld"),
    },
}

VOCABULARIES: Final[Mapping[str, Mapping[str, Title]]] = MappingProxyType(
    {name: MappingProxyType(titles) for name, titles in _VOCABULARIES.items()}
)
"""Every vocabulary of the facts by name: each value with its ``(zh, en)`` title."""

_BY_VALUES: dict[frozenset[str], str] = {frozenset(titles): name for name, titles in _VOCABULARIES.items()}
if len(_BY_VALUES) != len(_VOCABULARIES):  # pragma: no cover - a mistake in the table above
    raise AssertionError("two vocabularies of the facts have the same values")


def vocabulary_of(values: Iterable[str]) -> str | None:
    """The name of the vocabulary whose values are exactly ``values``, or ``None`` if none is."""
    return _BY_VALUES.get(frozenset(values))


def titles_of(values: Iterable[str]) -> Mapping[str, Title] | None:
    """The titles of the vocabulary whose values are exactly ``values``, or ``None`` if none is."""
    name = vocabulary_of(values)
    return VOCABULARIES[name] if name is not None else None


class TitledJsonSchema(GenerateJsonSchema):
    """Pydantic's JSON Schema of the facts, with each ``enum`` of a vocabulary titled: ``x-titles``
    maps each value to ``{"zh": …, "en": …}``."""

    def literal_schema(self, schema: core_schema.LiteralSchema) -> JsonSchemaValue:
        out = super().literal_schema(schema)
        titles = titles_of(str(v) for v in schema["expected"])
        if titles is not None:
            out["x-titles"] = {value: {"zh": zh, "en": en} for value, (zh, en) in titles.items()}
        return out
