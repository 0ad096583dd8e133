"""The household facts a ruleset can read: ``Household`` and its parts.

Field names are English; each field carries its Chinese label, which is what
explanations print. Amounts are yuan (``Decimal``); income and expenditure are
per year of the household's income period unless the name says otherwise.
"""

from __future__ import annotations

from datetime import date
from typing import Literal, get_args

from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from povrules.facts._base import Day, FactModel, Flag, Judged, Label, Local, Money, Rate, Text, Whole, fact, labels
from povrules.facts.bodies import FORMS, OverrideBody, canonical_body

LabourCapacity = Literal["full", "partial", "weak", "none"]
Health = Literal["healthy", "chronic", "serious_illness"]
EducationStage = Literal[
    "none",
    "preschool",
    "primary",
    "junior",
    "senior_general",
    "secondary_vocational",
    "technical",
    "junior_college",
    "undergraduate",
    "postgraduate",
]
# 与户主关系: how a member is related to the head of the household (户主), as the 户口簿 records it.
Relation = Literal[
    "head",
    "spouse",
    "child",
    "child_in_law",
    "grandchild",
    "parent",
    "parent_in_law",
    "grandparent",
    "sibling",
    "other",
]
ParentRole = Literal["father", "mother"]
# The loans the texts name: 扶贫小额信贷, 担保贷款, 生源地信用助学贷款, 创业担保贷款, loans a household puts into
# an enterprise that pays it back (带资入企, 企业带动, 分贷统还), and relocation loans.
LoanKind = Literal["microcredit", "guaranteed", "student_origin", "startup", "enterprise_linked", "relocation", "other"]
LoanPurpose = Literal["production", "startup", "education", "housing", "consumption", "other"]
# How a household moved by poverty relocation was resettled: at a centralised site or dispersedly
# (集中安置, 分散安置), the two ways the relocation plans subsidise differently.
RelocationPlacement = Literal["not_relocated", "centralised", "dispersed"]
EmployerType = Literal["none", "state_organ", "public_institution", "state_enterprise", "enterprise", "self", "other"]
VillagePost = Literal["none", "party_secretary", "committee_director", "other"]
VehicleKind = Literal[
    "car",
    "minivan",
    "passenger_vehicle",
    "truck",
    "motorcycle",
    "tricycle",
    "agricultural_vehicle",
    "engineering_machinery",
    "large_agricultural_machinery",
]
PropertyKind = Literal["commodity_housing", "shop", "self_built", "relocation_apartment", "affordable", "other"]
PropertyOrigin = Literal[
    "purchase",
    "self_build",
    "disaster_rebuild",
    "poverty_relocation",
    "demolition_resettlement",
    "dilapidated_renovation_subsidy",
    "inheritance",
    "other",
]
SafetyGrade = Literal["A", "B", "C", "D"]
RegistrationStatus = Literal["general", "registered_poor", "exited", "exited_no_policy"]
MonitoringStatus = Literal["none", "monitored", "tracked_attention", "risk_eliminated", "rolled_back", "removed"]
# The monitoring statuses, and where each may lead (what povrules.lifecycle applies and the loader checks a
# ruleset's transitions against). Leaving monitoring is ``removed`` (wrongly included, moved away,
# deceased); a household whose risk was eliminated, or that was removed, is taken in afresh
# as ``monitored`` when a new risk is found; a rolled-back elimination puts the household back
# under monitoring in its own status, so that the rollback stays visible; a recheck may also
# find an elimination premature and keep the household under tracked attention instead
# (方案5: measures in place for under half a year).
STATUSES: tuple[str, ...] = get_args(MonitoringStatus)
ALLOWED: dict[str, frozenset[str]] = {
    "none": frozenset({"monitored"}),
    "monitored": frozenset({"tracked_attention", "risk_eliminated", "removed"}),
    "tracked_attention": frozenset({"monitored", "risk_eliminated", "removed"}),
    "risk_eliminated": frozenset({"rolled_back", "tracked_attention", "monitored", "removed"}),
    "rolled_back": frozenset({"tracked_attention", "risk_eliminated", "removed"}),
    "removed": frozenset({"monitored"}),
}
MonitoringType = Literal["unstable_exited", "edge_vulnerable", "sudden_hardship", "exited_monitored", "edge"]
RiskCause = Literal[
    "illness",
    "education",
    "disability",
    "disaster",
    "accident",
    "industry_failure",
    "unstable_employment",
    "lack_of_labour",
    "housing",
    "drinking_water",
    "other",
    "family_change",
]
PovertyCause = Literal[
    "illness",
    "disability",
    "education",
    "disaster",
    "lack_of_land",
    "lack_of_water",
    "lack_of_skills",
    "lack_of_labour",
    "lack_of_funds",
    "poor_transport",
    "lack_of_motivation",
    "other",
]
DisasterSeverity = Literal["none", "minor", "severe"]
OverrideOutcome = Literal["set_aside", "upheld"]
FundClass = Literal["poverty", "agri_related", "other"]
Delivery = Literal["to_household", "coverage"]
# The income items the texts name: 工资性, 经营性 (生产经营性), 财产性, 转移性 (the four of the statistics),
# 政策性 (补贴) income (seed 002, seed 003), and 理赔收入 (营口's formula, seed 003).
IncomeKind = Literal["wage", "business", "property", "transfer", "policy", "insurance_claims", "other"]
# The expenditure items the texts name: 合规自付 medical cost (营口), medical cost as a whole, education.
ExpenditureKind = Literal["medical_compliant_out_of_pocket", "medical", "education", "other"]
# Where a medical cost arose: 住院, 特殊慢性病门诊 (特慢病), other outpatient care, anything else.
CareSetting = Literal["inpatient", "special_chronic_outpatient", "outpatient", "other"]
# The groups employment aid is keyed on (seed 003 方案1): the five of free skills training and the nine of
# the start-up loan (创业担保贷款), which overlap in 就业困难人员 and 退役军人.
EmploymentGroup = Literal[
    "unenrolled_graduate",
    "rural_transfer_worker",
    "laid_off",
    "veteran",
    "employment_difficulty",
    "urban_registered_unemployed",
    "released_prisoner",
    "college_graduate",
    "overcapacity_worker",
    "returning_migrant_entrepreneur",
    "online_merchant",
    "rural_self_employed",
]


def _period_in_order(end: date | None, info: ValidationInfo) -> date | None:
    """A period's last day on or after its first (a field validator, so that the problem names period_end)."""
    start = info.data.get("period_start")
    if start is not None and end is not None and end < start:
        raise PydanticCustomError("date_order", "a date on or after period_start ({start})", {"start": str(start)})
    return end


class IncomeItem(FactModel):
    """One item of income, with the period it was earned over (收入明细).

    Texts define income by computation over a named period (营口: 5月1日 to 4月30日 of the next year),
    so an item keeps its own period: a ruleset sums the items and states which period it requires.
    An unknown period leaves such a requirement unknown.
    """

    kind: IncomeKind = Field(
        description="Kind of income: wage (工资性), business (经营性, 生产经营), property (财产性), "
        "transfer (转移性), policy (政策性补贴), insurance_claims (理赔收入), other",
        json_schema_extra={"zh": "收入类别"},
    )
    amount: Money = Field(description="Amount over the period", json_schema_extra=labels("金额", "元"))
    period_start: Day | None = fact("起始日期", "First day of the period the amount is for")
    period_end: Day | None = fact("截止日期", "Last day of the period the amount is for")
    local: Local | None = fact("本地事实", "Facts a ruleset declares, by name")

    _end_after_start = field_validator("period_end")(_period_in_order)


class ExpenditureItem(FactModel):
    """One item of expenditure, with the period it was paid over (支出明细)."""

    kind: ExpenditureKind = Field(
        description="Kind of expenditure: medical_compliant_out_of_pocket (合规自付医疗费用), medical (医疗), "
        "education (教育), other",
        json_schema_extra={"zh": "支出类别"},
    )
    amount: Money = Field(description="Amount over the period", json_schema_extra=labels("金额", "元"))
    period_start: Day | None = fact("起始日期", "First day of the period the amount is for")
    period_end: Day | None = fact("截止日期", "Last day of the period the amount is for")
    local: Local | None = fact("本地事实", "Facts a ruleset declares, by name")

    _end_after_start = field_validator("period_end")(_period_in_order)


class School(FactModel):
    """The school a member attends (就读学校): what student-aid texts distinguish schools by."""

    in_home_province: Flag | None = fact(
        "在本省就读", "The school stands in the province of the member's household registration (省内院校)"
    )
    public: Flag | None = fact("公办学校", "A public school (公办)")
    full_time_regular_hei: Flag | None = fact(
        "全日制普通高等院校", "A full-time course at a regular institution of higher education (全日制普通高等院校)"
    )
    independent_college: Flag | None = fact("独立学院", "An independent college (独立学院) of a university")


class MedicalCost(FactModel):
    """One medical cost of a member as medical aid reckons it (医疗费用): what the member still pays after the
    basic and critical-illness insurance, supplementary insurance and the veterans' medical subsidy."""

    setting: CareSetting | None = fact(
        "就医类别", "Kind of care (inpatient, special chronic-disease outpatient, other outpatient)"
    )
    in_province: Flag | None = fact("省内就医", "Treated in the province (省内), not outside it (省外)")
    tiered_referral: Flag | None = fact(
        "执行分级诊疗制度", "Treated under the tiered-referral system (分级诊疗, 按规定转诊)"
    )
    compliant_out_of_pocket: Money | None = fact(
        "个人自付合规费用",
        "Compliant cost still paid (after insurance reimbursement and the veterans' medical subsidy)",
        unit="元",
    )
    incurred_on: Day | None = fact("结算日期", "Date the cost was settled (出院或门诊结算日期)")


class Parent(FactModel):
    """A parent of a member (父母): for the texts that aid a child by what became of its parents (孤儿, 事实无人抚养,
    残疾人子女). A parent who lives in the household is also one of its members, named by ``member``."""

    role: ParentRole | None = fact("父亲或母亲", "father or mother")
    member: Whole | None = fact(
        "在户成员序号",
        "0-based index of the parent in hh.members, when the parent lives in the household (null otherwise)",
        ge=0,
    )
    deceased: Flag | None = fact("已死亡", "The parent has died")
    missing: Flag | None = fact("失踪", "The parent is missing (失踪, as declared or reported)")
    disability_grade: Whole | None = fact(
        "残疾等级", "The parent's disability certificate grade (1 most severe to 4; 0 for none)", ge=0, le=4
    )
    unable_to_support: Flag | None = fact(
        "无抚养能力", "Cannot support the child (无抚养能力: severe disability, serious illness, in prison …)"
    )
    local: Local | None = fact("本地事实", "Facts a ruleset declares, by name")


class Member(FactModel):
    """One person of the household (家庭成员)."""

    id: Label | None = fact("成员编号", "Member identifier within the household", min_length=1, personal="identifier")
    name: Label | None = fact("姓名", "Name (redactable in records)", personal="identifier")
    # The redacted form (a keyed hash) is accepted too, so that a redacted record's facts can be replayed.
    id_number: Text | None = fact(
        "身份证号",
        "Resident ID number (redactable in records)",
        personal="identifier",
        pattern=r"^(\d{17}[\dXx]|hmac-sha256:[0-9a-f]{64})$",
    )
    relation: Relation | None = fact("与户主关系", "Relation to the head of the household (户主)")
    on_hukou: Flag | None = fact("在户籍内", "Listed on the household's public-security registration (户口簿)")
    lives_with_household: Flag | None = fact(
        "实际共同生活", "Actually lives with the household, whatever the registration says (户在人不在, 人在户不在)"
    )
    age: Whole | None = fact("年龄", "Age (in whole years, as recorded with the facts)", unit="岁", ge=0, le=130)
    labour_capacity: LabourCapacity | None = fact("劳动能力", "Labour capacity")
    labour_loss_cause: Literal["illness", "injury", "disability", "age", "other"] | None = fact(
        "丧失劳动能力原因", "Why labour capacity was lost: illness (因病), injury (因伤), disability (致残), age, other"
    )
    refuses_to_work: Judged[bool] | None = fact("有劳动能力但不主动参与劳动", "Able to work but refuses to (judged)")
    health: Health | None = fact("健康状况", "Health status")
    chronic_heavy_burden: Judged[bool] | None = fact(
        "慢性病负担较重", "Chronic illness with a heavy burden (较重, judged)"
    )
    disability_grade: Whole | None = fact(
        "残疾等级", "Disability certificate grade (1 most severe to 4; 0 for none)", ge=0, le=4
    )
    adl_status: Literal["independent", "semi_disabled", "disabled"] | None = fact(
        "失能状况", "Activities of daily living"
    )
    education_stage: EducationStage | None = fact("学段", "Education stage")
    enrolled_in_school: Flag | None = fact("在校", "Currently enrolled in school")
    schooling_kind: Literal["normal", "high_fee_selection", "high_fee_private", "self_funded_abroad"] | None = fact(
        "就学方式", "How the member studies (高费择校, 高收费私立学校, 自费出国留学)"
    )
    school_registered: Flag | None = fact("在籍", "Holds a student registration (学籍) at the school attended")
    boarding: Flag | None = fact("寄宿生", "Boards at school (寄宿生)")
    first_year: Flag | None = fact("新生", "In the first year of the current stage (新生, e.g. 大学新生)")
    orphan: Flag | None = fact("孤儿", "An orphan recognised by civil affairs (孤儿)")
    de_facto_unsupported: Flag | None = fact(
        "事实无人抚养儿童", "A child without anyone who in fact supports it (事实无人抚养儿童, as recognised)"
    )
    parents: tuple[Parent, ...] | None = fact(
        "父母", "The member's parents, living in the household or not (an empty list: known to have none on record)"
    )
    in_basic_medical_insurance: Flag | None = fact("参加基本医疗保险", "Enrolled in basic medical insurance")
    employer_type: EmployerType | None = fact("就业单位类型", "Kind of employer")
    is_public_official: Flag | None = fact("公职人员", "Public official (公职人员)")
    fiscally_supported: Flag | None = fact("财政供养", "Paid from public finances (财政供养/财供人员)")
    stable_salary: Flag | None = fact("工资收入稳定", "Has a stable salary")
    village_post: VillagePost | None = fact("村干部职务", "Village post held")
    migrant_worker: Flag | None = fact("外出务工", "Works away from home")
    special_needs_medical: Flag | None = fact(
        "有特需医疗等高消费", "Has special-needs medical care (美容, 正畸 …) or other high consumption"
    )
    illegal_conduct: (
        tuple[Literal["gambling", "drugs", "illegal_business", "medical_fund_fraud", "other_crime"], ...] | None
    ) = fact("违法犯罪行为", "Illegal conduct on record")
    income_items: tuple[IncomeItem, ...] | None = fact(
        "个人收入明细", "The member's own income items (each with its period; an empty list: known to have none)"
    )
    medical_insurance_contribution: Money | None = fact(
        "医保个人缴费", "The member's own contribution to basic medical insurance (新农合) for the year", unit="元"
    )
    social_insurance_as_individual: Flag | None = fact(
        "以个人身份缴纳社会保险",
        "Pays social-insurance contributions as an individual (灵活就业, not through an employer)",
    )
    consents_to_centralised_support: Flag | None = fact(
        "自愿集中供养", "Agrees to be placed in centralised (institutional) 五保/特困 support"
    )
    inpatient_compliant_cost: Money | None = fact(
        "住院合规费用",
        "Compliant inpatient costs (合规费用, within the insurance's lists) over the period recorded",
        unit="元",
    )
    inpatient_compliant_self_pay: Money | None = fact(
        "住院合规费用个人自付",
        "Compliant inpatient costs the member still pays after insurance and assistance (个人自付)",
        unit="元",
    )
    sunshine_home_care: Flag | None = fact(
        "符合“阳光家园”居家托养政策",
        "Recognised by the disabled persons' federation under the Sunshine Home (阳光家园) home-care policy",
    )
    yulu_trainee: Flag | None = fact(
        "正在参加“雨露计划”培训", "In 雨露计划 (Yulu) or new-type professional farmer training, while studying"
    )
    school: School | None = fact("就读学校", "The school the member attends")
    gaokao_year: Whole | None = fact("参加高考年份", "Year the member sat the national college entrance exam (高考)")
    gaokao_in_home_province: Flag | None = fact(
        "在本省参加高考", "Sat the 高考 in the province of the household registration"
    )
    hardship_recognised: Flag | None = fact(
        "认定为家庭经济困难学生", "Recognised as a student of a family in financial hardship (家庭经济困难学生认定)"
    )
    martyr_child: Flag | None = fact("烈士子女", "Child of a revolutionary martyr (烈士子女)")
    heroic_act: Flag | None = fact(
        "见义勇为学生本人或见义勇为人员子女",
        "Honoured for a heroic act, or the child of a person so honoured (见义勇为)",
    )
    medical_costs: tuple[MedicalCost, ...] | None = fact(
        "医疗费用明细", "Medical costs after insurance (an empty list: known to have none)"
    )
    employment_groups: tuple[EmploymentGroup, ...] | None = fact(
        "就业创业帮扶人员类别", "Groups of employment aid (an empty list: in none)"
    )
    local: Local | None = fact("本地事实", "Facts a ruleset declares, by name")


class Vehicle(FactModel):
    """A vehicle or machine owned by the household (机动车, 工程机械, 大型农机具)."""

    kind: VehicleKind = Field(description="Kind of vehicle or machine", json_schema_extra={"zh": "种类"})
    value: Money | None = fact("价值", "Current value", unit="元")
    use: Literal["private", "production", "commercial"] | None = fact("用途", "Use")
    acquired_on: Day | None = fact("购置日期", "Date acquired")
    high_priced: Judged[bool] | None = fact("高价", "High-priced (高价, judged: the texts give no figure)")
    size_class: Literal["large", "medium", "small", "mini"] | None = fact(
        "车型大小", "Size class of a truck or passenger vehicle as registered (大型, 中型, 小型, 微型)"
    )
    local: Local | None = fact("本地事实", "Facts a ruleset declares, by name")


class Property(FactModel):
    """A building owned by the household: dwelling, shop, town flat."""

    kind: PropertyKind = Field(description="Kind of property", json_schema_extra={"zh": "类型"})
    location: Literal["urban", "rural"] | None = fact("所在地", "Urban (城镇) or rural")
    origin: PropertyOrigin | None = fact("来源", "How it was obtained")
    built_or_bought_on: Day | None = fact("建成或购置日期", "Date completed or bought")
    newly_built: Judged[bool] | None = fact(
        "新建住房", "A newly built house (新建: the texts give no time window, so it is judged)"
    )
    floor_area: Money | None = fact("建筑面积", "Floor area", unit="平方米")
    value: Money | None = fact("价值", "Value", unit="元")
    high_priced: Judged[bool] | None = fact("高价", "High-priced (高价, judged: the texts give no figure)")
    local: Local | None = fact("本地事实", "Facts a ruleset declares, by name")


class WorkshopWorker(FactModel):
    """A person a business employs, as workshop aid counts them (吸纳就业人员)."""

    exited_poor: Flag | None = fact("脱贫人口", "A person of a household out of poverty (脱贫人口)")
    stable_months: Whole | None = fact("稳定就业月数", "Months of stable employment there", unit="个月", ge=0)
    average_monthly_wage: Money | None = fact("月均工资", "Average monthly wage", unit="元")


class Enterprise(FactModel):
    """A business the household runs or holds (实体产业, 企业法人, 股东)."""

    role: Literal["owner", "legal_person", "shareholder"] | None = fact("角色", "Member's role in it")
    registered: Flag | None = fact("已注册", "Registered with market regulation")
    annual_revenue: Money | None = fact("年营业额", "Annual revenue", unit="元")
    fixed_assets: Money | None = fact("固定资产", "Fixed assets", unit="元")
    employees: Whole | None = fact("雇工人数", "Number of employees", unit="人", ge=0)
    employs_others_long_term: Flag | None = fact("长期雇用他人", "Employs others long-term")
    annual_inspection_record: Flag | None = fact("有年审记录", "Has records of annual inspection (年审记录)")
    income_stable: Judged[bool] | None = fact("经营收入持续稳定", "Business income continuously stable (judged)")
    assistance_workshop: Flag | None = fact(
        "已认定并录入省平台的就业帮扶车间",
        "A certified employment-assistance workshop (就业帮扶车间) on the provincial platform",
    )
    workers: tuple[WorkshopWorker, ...] | None = fact("吸纳就业人员", "People it employs (an empty list: none)")
    local: Local | None = fact("本地事实", "Facts a ruleset declares, by name")


class Income(FactModel):
    """Income over one income period (测算周期)."""

    period_start: Day | None = fact("测算周期起", "First day of the income period")
    period_end: Day | None = fact("测算周期止", "Last day of the income period")
    per_capita_net: Money | None = fact("人均纯收入", "Per-capita net income (纯收入)", unit="元")
    per_capita_disposable: Money | None = fact("人均可支配收入", "Per-capita disposable income (可支配收入)", unit="元")
    total_net: Money | None = fact("家庭纯收入", "Household net income", unit="元")
    wage: Money | None = fact("工资性收入", "Wage income", unit="元")
    business: Money | None = fact("经营性收入", "Business income", unit="元")
    property: Money | None = fact("财产性收入", "Property income", unit="元")
    transfer: Money | None = fact("转移性收入", "Transfer income", unit="元")
    insurance_claims: Money | None = fact("理赔收入", "Insurance claim income", unit="元")
    previous_year_total: Money | None = fact("上年度家庭收入", "Household income of the previous year", unit="元")
    items: tuple[IncomeItem, ...] | None = fact(
        "家庭收入明细",
        "Income items of the household not attributable to one member (each with its period; "
        "members' own items are on each member; an empty list: known to have none)",
    )

    _end_after_start = field_validator("period_end")(_period_in_order)


class Expenditure(FactModel):
    """Expenditure over the income period."""

    rigid_total: Money | None = fact("刚性支出", "Rigid expenditure (medical, education, …)", unit="元")
    medical_total: Money | None = fact("医疗支出", "Medical expenditure", unit="元")
    medical_compliant_out_of_pocket: Money | None = fact(
        "合规自付医疗费用", "Compliant out-of-pocket medical cost", unit="元"
    )
    education: Money | None = fact("教育支出", "Education expenditure", unit="元")
    items: tuple[ExpenditureItem, ...] | None = fact(
        "支出明细", "Expenditure items (each with its period; an empty list: known to have none)"
    )


class Assets(FactModel):
    """What the household owns (看大件, 看住房, 看产业)."""

    vehicles: tuple[Vehicle, ...] | None = fact("车辆及机械", "Vehicles and machinery")
    properties: tuple[Property, ...] | None = fact("房产", "Buildings owned")
    enterprises: tuple[Enterprise, ...] | None = fact("实体产业", "Businesses run or held")
    deposits_total: Money | None = fact("存款", "Bank deposits", unit="元")
    securities_total: Money | None = fact("金融资产", "Funds, shares, investment insurance", unit="元")
    has_large_enterprise: Judged[bool] | None = fact(
        "有较大实体产业", "Runs a relatively large business (较大, judged)"
    )
    has_dwelling: Flag | None = fact("有房住", "Has a dwelling to live in (有房住)")


class Guarantees(FactModel):
    """两不愁三保障 and safe drinking water."""

    food_secure: Flag | None = fact("不愁吃", "Enough food")
    clothing_secure: Flag | None = fact("不愁穿", "Enough clothing")
    compulsory_education: Flag | None = fact("义务教育有保障", "Compulsory education guaranteed")
    basic_medical: Flag | None = fact("基本医疗有保障", "Basic medical care guaranteed")
    housing_safe: Flag | None = fact("住房安全有保障", "Housing safety guaranteed")
    drinking_water_safe: Flag | None = fact("饮水安全有保障", "Safe drinking water")
    dwelling_safety_grade: SafetyGrade | None = fact("住房安全等级", "Dwelling safety appraisal grade (C, D = 危房)")
    water_pipe: Literal["connected", "not_connected", "damaged"] | None = fact(
        "饮水管道", "The household's drinking-water pipe: connected, not connected (未接通) or damaged (破损)"
    )
    normal_water_supply: Flag | None = fact("正常供水", "Water is supplied normally")


class Registration(FactModel):
    """Poverty registration (建档立卡) and social assistance."""

    status: RegistrationStatus | None = fact("建档立卡状态", "Registration status")
    registered_on: Day | None = fact("建档立卡日期", "Date registered as poor")
    exited_on: Day | None = fact("脱贫日期", "Date of exit from poverty")
    dibao: Flag | None = fact("低保户", "Receives minimum living allowance (低保)")
    dibao_whole_household: Flag | None = fact("整户低保", "Whole household on 低保")
    tekun: Literal["none", "dispersed", "centralised"] | None = fact(
        "特困供养", "Support for people in extreme hardship"
    )
    wubao: Flag | None = fact("五保户", "Five-guarantee household (五保, the support scheme before 特困供养)")
    poverty_causes: tuple[PovertyCause, ...] | None = fact(
        "致贫原因", "Recorded causes of poverty (因病, 因残, 因学, 因灾, 缺技术, 缺资金, 缺劳力, 缺动力 …)"
    )
    support_standard: Money | None = fact(
        "供养标准", "The local standard of 五保/特困 support the household is paid at, per person per year", unit="元"
    )
    local_rural_consumption_last_year: Money | None = fact(
        "当地农村居民上年度人均生活消费支出",
        "Last year's per-capita living consumption of rural households where the household lives",
        unit="元",
    )
    poor_disabled_family: Flag | None = fact("贫困残疾人家庭", "Recognised as a poor family with a disabled member")
    local_dibao_standard: Money | None = fact(
        "当地农村低保标准", "The rural 低保 standard in force where the household lives, per person and year", unit="元"
    )


class Monitoring(FactModel):
    """Return-to-poverty monitoring (防返贫监测) status and dates."""

    status: MonitoringStatus | None = fact("监测状态", "Monitoring status")
    type: MonitoringType | None = fact("监测对象类型", "Monitoring-object type")
    included_on: Day | None = fact("纳入监测日期", "Date included as a monitoring object")
    measures_started_on: Day | None = fact("帮扶措施落实日期", "Date assistance measures started")
    risk_eliminated_on: Day | None = fact("风险消除日期", "Date risk was marked eliminated")
    income_stable_since: Day | None = fact(
        "收入持续稳定起始日期", "Date from which the income has been continuously stable"
    )
    household_acknowledged: Flag | None = fact(
        "监测对象户认可", "The household has acknowledged the end of its monitoring"
    )
    status_since: Day | None = fact("当前状态起始日期", "Date the current monitoring status began")
    rolled_back_on: Day | None = fact("风险消除回退日期", "Date a risk elimination was rolled back")
    removed_on: Day | None = fact("退出监测日期", "Date the household was removed from monitoring")


class Assessments(FactModel):
    """Facts a cadre judges, each with provenance (the texts give no number for them)."""

    return_risk: Judged[bool] | None = fact("存在返贫风险", "At risk of returning to poverty")
    poverty_risk: Judged[bool] | None = fact("存在致贫风险", "At risk of falling into poverty")
    rigid_expenditure_large: Judged[bool] | None = fact("刚性支出较大", "Rigid expenditure is large (较大)")
    income_sharply_reduced: Judged[bool] | None = fact("收入大幅缩减", "Income fell sharply (大幅缩减)")
    basic_living_severe_difficulty: Judged[bool] | None = fact(
        "基本生活出现严重困难", "Basic living in severe difficulty"
    )
    income_stable: Judged[bool] | None = fact("收入持续稳定", "Income continuously stable")
    reaches_exit_line: Judged[bool] | None = fact(
        "收入达到脱贫线",
        "Per-capita income reaches the exit line in force (脱贫线, 现行标准; judged where no figure is cited)",
    )
    risk_causes: tuple[RiskCause, ...] | None = fact("风险类型", "Causes of the risk (因病, 因灾, 因意外 …)")
    development_willingness: Judged[bool] | None = fact(
        "有发展意愿", "Willing to develop (发展意愿, assessed at the home visit)"
    )
    overall_hardship: Judged[bool] | None = fact(
        "综合困难状况",
        "Hardship weighed across labour, willingness, health, education, housing and assets (综合…困难状况, judged)",
    )
    among_poorest: Judged[bool] | None = fact(
        "最贫困", "Among the poorest households (最贫困: the texts give no measure, judged)"
    )
    uninhabitable_location: Judged[bool] | None = fact(
        "一方水土不能养活一方人",
        "Lives where the land cannot support its people, or in a harsh remote natural village (judged)",
    )
    harsh_environment_area: Judged[bool] | None = fact(
        "居住在生存条件恶劣、生态环境脆弱、自然灾害频发等地区",
        "Lives in an area of harsh living conditions, fragile ecology, frequent natural disasters or the like (judged)",
    )
    development_potential: Judged[bool] | None = fact("有发展潜质", "Has potential to develop (发展潜质, judged)")
    capital_need: Judged[bool] | None = fact("有资金需求", "Needs funds for production (资金需求, judged)")
    repayment_capacity: Judged[bool] | None = fact(
        "有还款来源或还贷能力", "Has a source of repayment, able to repay a loan (judged)"
    )
    loan_willingness: Judged[bool] | None = fact("有贷款意愿", "Willing to borrow (贷款意愿, judged)")
    enterprise_potential: Judged[bool] | None = fact(
        "有就业创业潜质", "Has potential for employment or starting a business (judged)"
    )
    skills: Judged[bool] | None = fact("有技能素质", "Has skills (技能素质, judged)")
    migration_willingness: Judged[bool] | None = fact(
        "有转移就业意愿", "Willing to take work off the farm or away (转移就业意愿, judged)"
    )
    industry_willingness: Judged[bool] | None = fact(
        "有产业发展意愿", "Willing to develop an industry (产业发展意愿, judged)"
    )
    relocation_willingness: Judged[bool] | None = fact(
        "有改善住房条件、易地安置意愿", "Wishes to improve its housing and to be resettled elsewhere (judged)"
    )
    industrial_policy_compliant: Judged[bool] | None = fact(
        "从事符合国家产(行)业政策的产业", "Its production complies with national industrial policy (judged)"
    )
    fixed_income_source: Judged[bool] | None = fact("有固定收入来源", "Has a fixed source of income (judged)")
    stable_income_source: Judged[bool] | None = fact("有稳定收入来源", "Has a stable source of income (judged)")
    has_resources: Judged[bool] | None = fact("有资源", "Has resources it can use (资源, judged)")
    location_lacks_subsistence: Judged[bool] | None = fact(
        "不具备生存发展条件", "Lives where there are no conditions for subsistence and development (judged)"
    )
    in_situ_exit_costly: Judged[bool] | None = fact(
        "就地脱贫成本高、难度大", "Escaping poverty where it lives is costly and hard (judged)"
    )
    returned_to_poverty: Judged[bool] | None = fact("返贫", "Fell back into poverty (返贫, judged)")
    income_secured: Judged[bool] | None = fact("收入有保障", "Income secured (收入有保障, judged)")
    old_age_secured: Judged[bool] | None = fact("养老有保障", "Old-age support secured (养老有保障, judged)")
    surplus_labour: Judged[bool] | None = fact("有富裕的劳动力", "Has surplus labour (富裕的劳动力, judged)")
    unused_potential: Judged[bool] | None = fact(
        "有可开发的资源和可挖掘的潜力未能有效利用", "Has resources or potential it has not put to use (judged)"
    )
    livelihood_difficulty: Judged[bool] | None = fact("生活困难", "In difficulty in daily living (生活困难, judged)")
    rigid_expenditure_exceeds_income_markedly: Judged[bool] | None = fact(
        "刚性支出明显超过上年度收入", "Rigid expenditure markedly exceeds the previous year's income (明显, judged)"
    )
    basic_living_affected: Judged[bool] | None = fact("影响基本生活", "Basic living is affected (judged)")
    rigid_expenditure_surged: Judged[bool] | None = fact("刚性支出骤增", "Rigid expenditure surged (骤增, judged)")
    production_living_severe_difficulty: Judged[bool] | None = fact(
        "生产生活严重困难", "Severe difficulty in production and living (基本生产生活受到严重影响, judged)"
    )
    guarantees_prominent_problem: Judged[bool] | None = fact(
        "“三保障”和安全饮水出现突出问题",
        "A prominent problem in the three guarantees or safe drinking water (突出, judged)",
    )
    cannot_resolve_alone: Judged[bool] | None = fact(
        "依靠自身力量难以解决", "The household cannot resolve the difficulty by its own efforts (judged)"
    )
    supporters_can_secure_living: Judged[bool] | None = fact(
        "法定赡养、抚养、扶养人收入水平较高，明显具备抵御风险能力，能保障其基本生活",
        "Legal supporters earn relatively well, can clearly bear the risk and secure the household's basic living (judged)",
    )
    large_deposits_or_securities: Judged[bool] | None = fact(
        "有大额存款或有价证券", "Has large deposits, or funds, shares, investment insurance (大额, judged)"
    )
    measures_effective: Judged[bool] | None = fact(
        "针对性帮扶措施有效落实", "The measures taken against the risk are effectively in place (judged)"
    )
    rigid_expenditure_resolved: Judged[bool] | None = fact(
        "大额刚性支出稳定解决", "Large rigid expenditure is stably resolved (judged)"
    )
    rigid_expenditure_uncontrollable: Judged[bool] | None = fact(
        "刚性支出不可控", "Rigid expenditure cannot be controlled (judged)"
    )
    elimination_stability_weak: Judged[bool] | None = fact(
        "风险消除稳定性较弱", "The elimination of the risk is weakly stable (较弱, judged)"
    )
    risk_eliminated: Judged[bool] | None = fact(
        "返贫致贫风险已经消除", "The risk of poverty or of returning to it is eliminated (judged)"
    )
    risk_stably_eliminated: Judged[bool] | None = fact(
        "返贫致贫风险已经稳定消除", "The risk of poverty or of returning to it is stably eliminated (judged)"
    )
    income_markedly_reduced: Judged[bool] | None = fact(
        "家庭人均纯收入较上一年度明显减少",
        "Per-capita net income fell markedly from the previous year (明显减少, judged)",
    )
    income_outlook_unstable: Judged[bool] | None = fact(
        "家庭收入在未来一段时间内缺乏稳定性", "The household's income lacks stability for some time to come (judged)"
    )
    many_children: Judged[bool] | None = fact("多子女", "Has many children (多子女: the texts give no number, judged)")
    wage_income_share_high: Judged[bool] | None = fact(
        "务工收入占比较高", "Wage work is a relatively high share of the income (较高, judged)"
    )
    work_time_unstable: Judged[bool] | None = fact("务工时间不稳定", "The time in wage work is not stable (judged)")
    family_burden_heavy: Judged[bool] | None = fact(
        "家庭负担较重", "The family's burden is relatively heavy (较重, judged)"
    )
    weikun: Judged[bool] | None = fact(
        "危困户", "A household in danger and hardship (危困户: the texts define it nowhere, judged)"
    )
    industry_conditions: Judged[bool] | None = fact(
        "具备发展产业条件", "Has what it takes to develop an industry (发展产业条件: land, skills, market; judged)"
    )
    startup_willingness: Judged[bool] | None = fact("有创业意愿", "Wishes to start a business (创业意愿, judged)")
    severe_sudden_event: Judged[bool] | None = fact(
        "遭遇严重突发性事件", "Struck by a severe sudden event (严重突发性事件, judged)"
    )


class Look(FactModel):
    """One of the 五看 home-visit assessments."""

    assessed_on: Day = Field(description="Date of the home visit", json_schema_extra={"zh": "走访日期"})
    assessor: Label = Field(
        min_length=1, description="Who assessed", json_schema_extra=labels("评估人", personal="identifier")
    )
    note: Text | None = fact("情况记录", "What was seen", personal="free_text")


class FiveLooks(FactModel):
    """五看: housing, big-ticket items, labour, industry, burden."""

    housing: Look | None = fact("看住房", "Look at housing")
    durables: Look | None = fact("看大件", "Look at big-ticket items")
    labour: Look | None = fact("看劳力", "Look at labour")
    industry: Look | None = fact("看产业", "Look at industry")
    burden: Look | None = fact("看负担", "Look at burden")


class Disaster(FactModel):
    """The most recent disaster that hit the household."""

    severity: DisasterSeverity | None = fact("受灾程度", "Disaster severity")
    occurred_on: Day | None = fact("受灾日期", "Date of the disaster")


class ProjectBenefit(FactModel):
    """A project that reached the household (三优先)."""

    project: Label = Field(
        min_length=1, description="Project name or code", json_schema_extra=labels("项目", personal="identifier")
    )
    fund_class: FundClass = Field(
        description="poverty (扶贫项目) or agri_related (涉农项目)", json_schema_extra={"zh": "资金类别"}
    )
    delivery: Delivery = Field(
        description="to_household (扶贫到户) or coverage (覆盖到)", json_schema_extra={"zh": "受益方式"}
    )
    delivered_on: Day | None = fact("受益日期", "Date the benefit reached the household")
    local: Local | None = fact("本地事实", "Facts a ruleset declares, by name")


class Override(FactModel):
    """A recorded decision of the body a default-strength rule names (民主评议 …)."""

    rule: Label = Field(
        min_length=1,
        description="Id of the rule the body ruled on",
        json_schema_extra=labels("规则", personal="rule_reference"),
    )
    # The schema lists both forms of each name: either is accepted, and read as the canonical one.
    body: OverrideBody = Field(
        description="Body that decided (Simplified or Traditional form)",
        json_schema_extra={"zh": "决定机构", "enum": list(FORMS)},
    )
    decided_on: Day = Field(description="Date of the decision", json_schema_extra={"zh": "决定日期"})
    outcome: OverrideOutcome = Field(
        description="set_aside: the rule does not apply to this household; upheld: it does",
        json_schema_extra={"zh": "结果"},
    )
    minutes: Text | None = fact("会议记录", "Reference to the minutes", personal="free_text")

    @field_validator("body", mode="before")
    @classmethod
    def _canonical_body(cls, value: object) -> object:
        """A body's Traditional name read as its canonical (Simplified) one; other names are left to be refused."""
        return (canonical_body(value) or value) if isinstance(value, str) else value


# The crops the texts' planting subsidies name: 榨菜 (青菜头), 蔬菜, 水果 (涪陵), 红薯, 花生 (招元村).
CropKind = Literal["mustard_tuber", "vegetable", "fruit", "sweet_potato", "peanut", "grain", "other"]


class Planting(FactModel):
    """A crop the household grows, with the area verified on acceptance (据实验收)."""

    crop: CropKind = Field(description="Crop", json_schema_extra={"zh": "作物"})
    area: Money = Field(description="Area planted, as verified", json_schema_extra=labels("种植面积", "亩"))
    newly_developed: Flag | None = fact("新发展", "Newly developed this season (新发展), not an existing planting")


class LoanExtension(FactModel):
    """An extension of a loan's term (展期)."""

    on: Day | None = fact("展期日期", "Date the extension was granted")
    months: Whole | None = fact("展期月数", "Months the term was extended by", unit="月", ge=1)
    local: Local | None = fact("本地事实", "Facts a ruleset declares, by name")


class Loan(FactModel):
    """A loan taken by the household or one of its members (贷款)."""

    kind: LoanKind | None = fact("贷款种类", "Kind of loan")
    borrower: Whole | None = fact(
        "借款人", "0-based index of the borrower in hh.members (null: unknown, or the household as a whole)", ge=0
    )
    borrower_age: Whole | None = fact("申请时年龄", "The borrower's age when applying", unit="岁", ge=0, le=130)
    purpose: LoanPurpose | None = fact("贷款用途", "What the loan is for")
    amount: Money | None = fact("贷款金额", "Amount lent", unit="元")
    term_months: Whole | None = fact("贷款期限", "Term as agreed when the loan was made", unit="月", ge=1)
    applied_on: Day | None = fact("申请日期", "Date applied for")
    issued_on: Day | None = fact("发放日期", "Date the loan was paid out")
    extensions: tuple[LoanExtension, ...] | None = fact(
        "展期", "Extensions of the term (an empty list: known to have none)"
    )
    annual_rate: Rate | None = fact("年利率", "Annual interest rate, in per cent (4.35 for 4.35 %)", unit="%")
    benchmark_rate: Rate | None = fact(
        "基准利率", "The benchmark rate for such a loan when it was made, in per cent", unit="%"
    )
    repaid: Flag | None = fact("已还清", "Fully repaid")
    overdue: Flag | None = fact("逾期", "Overdue (逾期)")
    collateral: Flag | None = fact("有抵押", "Secured by collateral (抵押)")
    guarantor: Flag | None = fact("有担保人", "Guaranteed by a guarantor (担保)")
    misused: Judged[bool] | None = fact("用途违规", "Used for something other than its purpose (挪用, 转借; judged)")
    production_cycle_months: Whole | None = fact(
        "项目生产周期", "Production cycle of the project the loan funds (生产周期)", unit="月", ge=1
    )
    local: Local | None = fact("本地事实", "Facts a ruleset declares, by name")


class Household(FactModel):
    """A rural household (农户) as a ruleset sees it. Every fact may be unknown."""

    id: Label = Field(
        min_length=1,
        description="Household identifier (户编号)",
        json_schema_extra=labels("户编号", personal="identifier"),
    )
    jurisdiction: Label | None = fact("所属地区", "Jurisdiction code, e.g. cn-yunnan-weishan", personal="identifier")
    village: Label | None = fact("村", "Village", personal="identifier")
    rural_hukou: Flag | None = fact("农村户籍", "Rural household registration")
    members: tuple[Member, ...] | None = fact(
        "家庭成员",
        "Members of the household: at least one (unknown members are null, not an empty list)",
        schema={"minItems": 1},
    )
    income: Income | None = fact("收入", "Income")
    income_same_period_last_year: Income | None = fact(
        "上年同期收入", "Income of the same period one year earlier, by item, for a year-on-year comparison"
    )
    expenditure: Expenditure | None = fact("支出", "Expenditure")
    assets: Assets | None = fact("资产", "Assets")
    guarantees: Guarantees | None = fact("两不愁三保障", "Food, clothing, education, medical care, housing, water")
    registration: Registration | None = fact("建档立卡", "Poverty registration")
    monitoring: Monitoring | None = fact("防返贫监测", "Return-to-poverty monitoring")
    assessments: Assessments | None = fact("研判", "Judged facts")
    five_looks: FiveLooks | None = fact("五看", "The five looks")
    disaster: Disaster | None = fact("受灾情况", "Disaster")
    projects: tuple[ProjectBenefit, ...] | None = fact("受益项目", "Projects that reached the household")
    refuses_asset_verification: Flag | None = fact("拒绝家庭资产核查", "Refuses verification of household assets")
    credit_rated: Flag | None = fact(
        "通过银行金融机构评级授信", "Has passed a bank's credit rating and holds a valid credit line (有效授信)"
    )
    credit_line: Money | None = fact("授信额度", "The credit line a bank granted the household (授信额度)", unit="元")
    loans: tuple[Loan, ...] | None = fact(
        "贷款", "Loans of the household and its members (an empty list: known to have none)"
    )
    relocation_consent: Flag | None = fact("自愿搬迁", "The household agrees to be relocated (易地扶贫搬迁, 群众自愿)")
    relocated_urban_hukou: Flag | None = fact(
        "搬迁后已转为城镇户籍", "Moved by 易地扶贫搬迁 or 同步搬迁 and now holds urban household registration"
    )
    urban_resident_benefits: Flag | None = fact(
        "享受城镇居民保障措施和待遇", "Receives the protection measures and benefits of urban residents"
    )
    renovation_other_department_funds: Flag | None = fact(
        "参加其他行业部门资金危房改造",
        "Takes part in a dilapidated-house renovation funded by another sector's department",
    )
    months_absent: Whole | None = fact(
        "整户不在辖区居住月数", "Months the whole household has lived outside the jurisdiction", unit="个月", ge=0
    )
    overrides: tuple[Override, ...] | None = fact("评议决定", "Recorded decisions of the bodies rules name")
    relocation_placement: RelocationPlacement | None = fact(
        "扶贫搬迁安置方式",
        "How the household was resettled by poverty relocation: not_relocated, centralised (集中安置), "
        "dispersed (分散安置)",
    )
    plantings: tuple[Planting, ...] | None = fact(
        "种植情况", "Crops grown, each with its verified area (an empty list: known to grow none)"
    )
    renovation_kind: Literal["rebuild", "repair"] | None = fact(
        "危房改造方式", "How the dangerous house is renovated: rebuilt (重建) or repaired and reinforced (修缮加固)"
    )
    local: Local | None = fact("本地事实", "Facts a ruleset declares, by name")

    @field_validator("members")
    @classmethod
    def _someone(cls, members: tuple[Member, ...] | None) -> tuple[Member, ...] | None:
        # A household is its members: an empty list is a household of nobody, which per-capita
        # figures divide by and no rule can identify (docs/interpretations.md, I-S-1).
        if members is not None and not members:
            raise PydanticCustomError("no_members", "at least one member (null when the members are unknown)")
        return members

    @field_validator("members")
    @classmethod
    def _parents_in_household(cls, members: tuple[Member, ...] | None) -> tuple[Member, ...] | None:
        # A parent named as a member must be another member of this household.
        for i, member in enumerate(members or ()):
            for j, parent in enumerate(member.parents or ()):
                if parent.member is not None and (parent.member >= len(members or ()) or parent.member == i):
                    raise _index_error([i, "parents", j, "member"], parent.member, len(members or ()), i)
        return members

    @field_validator("loans")
    @classmethod
    def _borrower_in_household(cls, loans: tuple[Loan, ...] | None, info: ValidationInfo) -> tuple[Loan, ...] | None:
        # Unknown members (or members that failed validation) leave the index unchecked: nothing to check it by.
        members = info.data.get("members")
        if members is None:
            return loans
        for k, loan in enumerate(loans or ()):
            if loan.borrower is not None and loan.borrower >= len(members):
                raise _index_error([k, "borrower"], loan.borrower, len(members))
        return loans


def _index_error(within: list[str | int], given: int, count: int, itself: int | None = None) -> PydanticCustomError:
    """The error of an index that names no (other) member: ``within`` is the path below the validated field,
    which :func:`povrules.facts.problems_of` appends to the field's own."""
    other = f", not the member's own ({itself})" if itself is not None else ""
    return PydanticCustomError(
        "member_index",
        "the index of a member of the household (0 to {last}{other})",
        {"last": count - 1, "other": other, "within": within, "given": given},
    )
