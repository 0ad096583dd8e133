"""A synthetic county: plausible rural households for tests, benchmarks and what-if demos.

``county(n, seed)`` returns ``n`` :class:`~povrules.facts.household.Household` objects, built
without validation but equal to what validation gives; ``county_json(n, seed)`` yields the same
households as JSON-ready dicts.
Every distribution parameter lives on a :class:`Profile`, with a comment saying what it
models and where the figure comes from: a line of the policy sources (``S00n:line``)
where one gives it, otherwise plainly an assumption. ``docs/synth.md`` tabulates them.

The output depends only on ``n``, ``seed``, the profile and ``as_of``: one
``random.Random(seed)`` drives everything, and nothing iterates over a set.
The households are fictional; nothing here describes a real person or place.
"""

from __future__ import annotations

import gc
import itertools
import math
import random
import sys
from array import array
from bisect import bisect
from collections.abc import Callable, Iterable, Iterator
from datetime import date, timedelta
from decimal import Context, Decimal
from operator import itemgetter
from typing import Any, TypeVar, get_args

import attrs
from pydantic import BaseModel

from povrules.errors import UnknownName, UsageError
from povrules.facts import Judged
from povrules.facts.household import (
    Assessments,
    Assets,
    Disaster,
    Enterprise,
    Expenditure,
    FiveLooks,
    Guarantees,
    Household,
    Income,
    IncomeItem,
    Look,
    Member,
    Monitoring,
    ProjectBenefit,
    Property,
    Registration,
    RiskCause,
    Vehicle,
)

__all__ = ["PROFILES", "Profile", "county", "county_json"]


def _t(*pairs: tuple[Any, float]) -> tuple[tuple[Any, float], ...]:
    return tuple(pairs)


@attrs.frozen
class Profile:
    """Every distribution parameter of the generator. Shares are probabilities in [0, 1]."""

    name: str = "default"
    # Synthetic households stand for no real place: by default they name no jurisdiction, so that any
    # ruleset decides them without a jurisdiction warning. Give a code to test that warning.
    jurisdiction: str | None = None
    # Number of villages the households are spread over (uniformly). Assumption.
    villages: int = 50

    # --- Household size -------------------------------------------------------------------------------
    # Members per household, 1..7. Mean ≈ 3.53, matching Weishan's 19423 people in 5516 registered
    # households (S002:241, 3.52) and near S001:15 (40929 / 12452 = 3.29). The shape is an assumption.
    size_weights: tuple[float, ...] = (0.09, 0.18, 0.23, 0.24, 0.16, 0.07, 0.03)

    # --- Ages -------------------------------------------------------------------------------------------
    # Share of non-head members who are children (0-17) and elderly (60-90); the rest are 18-59.
    # Assumption (a rural age pyramid with many working-age adults away).
    child_share: float = 0.30
    elderly_share: float = 0.22
    # Share of household heads aged 60 or over. Assumption.
    elderly_head_share: float = 0.30

    # --- Health and disability -------------------------------------------------------------------------
    # Share of members seriously ill / chronically ill. Assumption; illness is the first cause of poverty
    # in S001:16 (10945 of 12452 households of the general poor), so the poor get `poor_health_factor`×.
    serious_illness_rate: float = 0.03
    chronic_rate: float = 0.10
    poor_health_factor: float = 2.5
    # Share of chronically ill members judged to bear a heavy burden (较重). Assumption.
    chronic_heavy_share: float = 0.35
    # Share of members holding a disability certificate, and the weights of grades 1..4. Assumption
    # (S001:17 counts 5531 households poor through disability); grades 1-2 are the severe ones.
    disability_rate: float = 0.06
    disability_grade_weights: tuple[float, ...] = (0.15, 0.25, 0.30, 0.30)
    # Share of elderly members who are semi-disabled / disabled in daily living. Assumption.
    elderly_semi_disabled: float = 0.10
    elderly_disabled: float = 0.06

    # --- Labour capacity -------------------------------------------------------------------------------
    # Labour-capacity weights (full, partial, weak, none) by age band, before illness and disability
    # lower them. Assumption.
    adult_labour_weights: tuple[float, ...] = (0.85, 0.08, 0.04, 0.03)
    elderly_labour_weights: tuple[float, ...] = (0.20, 0.30, 0.30, 0.20)
    # Share of able adults working away from home (外出务工). Assumption.
    migrant_share: float = 0.35
    # Share of able adults judged to refuse work (缺动力: 810 of 31019 cause entries in S001:15-23).
    refuses_work_share: float = 0.02

    # --- Schooling --------------------------------------------------------------------------------------
    # Enrolment rates by stage: preschool (3-5), compulsory (6-14), senior (15-17), tertiary (18-22).
    # Assumption (compulsory education near universal).
    enrol_preschool: float = 0.80
    enrol_compulsory: float = 0.98
    enrol_senior: float = 0.80
    enrol_tertiary: float = 0.30
    # Share of pupils in high-fee schooling (高费择校, 私立, 自费留学). Assumption.
    high_fee_schooling_share: float = 0.02

    # --- Employment -------------------------------------------------------------------------------------
    # Share of working-age adults who are public officials (also fiscally supported, stable salary),
    # village cadres, and who have recorded special-needs consumption or illegal conduct. Assumption.
    public_official_share: float = 0.015
    village_cadre_share: float = 0.01
    special_needs_medical_share: float = 0.004
    illegal_conduct_share: float = 0.004

    # --- Registration -----------------------------------------------------------------------------------
    # Share of households ever registered as poor: the incidence 7.11 % in Weishan (S002:241).
    ever_registered_share: float = 0.0711
    # Of those, share still registered (not yet exited) on `as_of`; the rest exited. Assumption.
    still_registered_share: float = 0.20
    # Share of exited households that exited without continued policy (exited_no_policy). Assumption.
    exited_no_policy_share: float = 0.05
    # 低保 share among the registered / among general households. Assumption; S001:26 puts 9997 households
    # without labour on 低保 beside 17281 registered (S001:15), so 低保 is common among the poor.
    dibao_share_registered: float = 0.35
    dibao_share_general: float = 0.03
    # Share of single elderly households that are 特困 (dispersed / centralised) or 五保 (S001:29 counts
    # 2892 五保 households of 3146 people: almost all one person). Assumption for the share.
    tekun_share_single_elderly: float = 0.25
    # Causes of poverty of registered households, as households per cause in S001:16-23 (九个一批):
    # illness 10945, disability 5531, education 1141, disaster 540, skills 2426, funds 3060,
    # labour 6566, motivation 810. The share with a second cause is an assumption.
    poverty_cause_weights: tuple[tuple[str, float], ...] = _t(
        ("illness", 10945),
        ("disability", 5531),
        ("education", 1141),
        ("disaster", 540),
        ("lack_of_skills", 2426),
        ("lack_of_funds", 3060),
        ("lack_of_labour", 6566),
        ("lack_of_motivation", 810),
    )
    second_cause_share: float = 0.30

    # --- Income -----------------------------------------------------------------------------------------
    # Per-capita net income is log-normal: median and sigma of log by registration status. The medians sit
    # near the lines the rulesets cite (2500 .. 7514 元; the 6500 monitoring line of S003:276; the 3000-5000
    # band of S004:17), so that thresholds are crossed often. Assumption for the exact values.
    income_median_registered: float = 3800.0
    income_median_exited: float = 7500.0
    income_median_general: float = 11000.0
    income_sigma: float = 0.55
    # Share of households whose per-capita net income is exactly one of `snap_lines`, so that the
    # boundary words (以内, 超过, 低于 …) are exercised at the line itself. Assumption.
    snap_share: float = 0.02
    snap_lines: tuple[int, ...] = (2500, 3000, 4000, 5000, 6000, 6320, 6500, 6600, 7260, 7514)
    # Disposable income over net income: uniform in this range. Assumption.
    disposable_ratio: tuple[float, float] = (1.00, 1.12)
    # Mean shares of wage, business, property and transfer income (each household draws around them).
    # Assumption (wage work dominant in the transition period, transfers high among the poor).
    income_shares_general: tuple[float, ...] = (0.55, 0.30, 0.03, 0.12)
    income_shares_poor: tuple[float, ...] = (0.45, 0.20, 0.02, 0.33)
    # Share with insurance claim income; year-on-year change (sigma of log) of income. Assumption.
    insurance_claim_share: float = 0.05
    income_change_sigma: float = 0.25

    # --- Expenditure ------------------------------------------------------------------------------------
    # Median medical spending per seriously ill / chronically ill member; education spending per pupil.
    # Assumption.
    medical_serious: float = 20000.0
    medical_chronic: float = 3000.0
    education_per_pupil: float = 2500.0

    # --- Assets -----------------------------------------------------------------------------------------
    # Share of general households owning each kind of vehicle; registered and exited households own
    # `poor_vehicle_factor`× as often. Assumption.
    vehicle_shares: tuple[tuple[str, float], ...] = _t(
        ("car", 0.10),
        ("minivan", 0.04),
        ("passenger_vehicle", 0.005),
        ("truck", 0.03),
        ("motorcycle", 0.35),
        ("tricycle", 0.15),
        ("agricultural_vehicle", 0.08),
        ("engineering_machinery", 0.01),
        ("large_agricultural_machinery", 0.02),
    )
    poor_vehicle_factor: float = 0.25
    # Share of vehicles judged high-priced. Assumption.
    high_priced_vehicle_share: float = 0.05
    # Share of households with a rural dwelling; of those judged newly built. Assumption.
    dwelling_share: float = 0.97
    new_house_share: float = 0.06
    # Origins of dwellings (weights). Assumption.
    dwelling_origin_weights: tuple[tuple[str, float], ...] = _t(
        ("self_build", 0.70),
        ("inheritance", 0.12),
        ("dilapidated_renovation_subsidy", 0.08),
        ("disaster_rebuild", 0.02),
        ("poverty_relocation", 0.05),
        ("purchase", 0.03),
    )
    # Share of general households with urban commodity housing / a shop; of the poor, `poor_vehicle_factor`×.
    commodity_housing_share: float = 0.06
    shop_share: float = 0.02
    # Share of general households running a business; of those judged relatively large. Assumption.
    enterprise_share: float = 0.05
    large_enterprise_share: float = 0.25

    # --- Guarantees (两不愁三保障) ------------------------------------------------------------------------
    # Share of households secure in food, clothing, compulsory education, basic medical care and drinking
    # water. Assumption (the goals were declared met nationally in 2020; some gaps are kept).
    food_secure: float = 0.99
    clothing_secure: float = 0.99
    compulsory_education: float = 0.98
    basic_medical: float = 0.97
    drinking_water_safe: float = 0.96
    # Dwelling safety grades A..D. Assumption; C and D are 危房.
    dwelling_grade_weights: tuple[float, ...] = (0.55, 0.33, 0.08, 0.04)

    # --- Monitoring (防返贫监测) --------------------------------------------------------------------------
    # Share of exited / general households that are monitoring objects on `as_of`, and shares of the
    # other statuses. Assumption; the 2020 monitoring lines (S003:276, 6500 元) bound who can enter.
    monitored_share_exited: float = 0.15
    monitored_share_general: float = 0.025
    risk_eliminated_share: float = 0.04
    tracked_attention_share: float = 0.01
    rolled_back_share: float = 0.004
    removed_share: float = 0.005

    # --- Judged facts -----------------------------------------------------------------------------------
    # Probability of a judged fact being true, for facts with no particular link to income. Assumption.
    judged_true_share: float = 0.25
    # Poverty / return risk judged true: for households at or below `risk_income` and above it. Assumption.
    risk_income: float = 7000.0
    risk_share_low: float = 0.45
    risk_share_high: float = 0.08
    # Share of high-income households with a shock (illness, disaster, accident) that leaves basic
    # living in severe difficulty (the sudden-hardship type of S003:274). Assumption.
    shock_share: float = 0.04
    # Exit-line judgement: true when per-capita net income reaches this figure (the 4000 元 level of the
    # 2020 standard is an assumption, the texts cite 现行标准 without a figure), with this error share.
    exit_line: float = 4000.0
    judgement_error: float = 0.05
    # Who judges (role and anonymised surname) and how many days before `as_of` (uniform). Assumption.
    judges: tuple[str, ...] = (
        "村第一书记 王某",
        "驻村工作队员 李某",
        "村委会主任 张某",
        "村党支部书记 赵某",
        "乡镇扶贫专干 刘某",
        "帮扶责任人 陈某",
    )
    judged_days_before: tuple[int, int] = (5, 180)

    # --- Other ------------------------------------------------------------------------------------------
    # Shares of severe / minor disaster, of projects reaching registered households, of other flags.
    # Assumption.
    severe_disaster_share: float = 0.03
    minor_disaster_share: float = 0.12
    project_share_registered: float = 0.70
    credit_rated_share: float = 0.20
    refuses_verification_share: float = 0.005
    absent_share: float = 0.04

    # --- Unknown facts ----------------------------------------------------------------------------------
    # Share of households for which each top-level fact group, each judged fact, and each member
    # field is left unknown, so that `undetermined` occurs. Assumption.
    unknown_share: float = 0.03
    # Share of households whose five looks are not yet recorded (or recorded after `as_of`). Assumption.
    looks_missing_share: float = 0.05

    def __attrs_post_init__(self) -> None:
        for field in attrs.fields(type(self)):
            value = getattr(self, field.name)
            if (
                isinstance(value, float)
                and field.name.endswith(("share", "rate", "_secure", "_safe"))
                and not 0.0 <= value <= 1.0
            ):
                raise UsageError(f"Profile.{field.name} must be within [0, 1], not {value}")


PROFILES: dict[str, Profile] = {
    "default": Profile(),
    # A poorer county: incidence as at the start of targeted poverty alleviation, most still registered.
    "poor": Profile(name="poor", ever_registered_share=0.20, still_registered_share=0.6, income_median_general=8000.0),
}

# Enumerations, kept as tuples so that the order is fixed.
_RISK_CAUSES = get_args(RiskCause)  # the facts' own order, so draws stay reproducible
_SHOCK_CAUSES = ("illness", "disaster", "accident")
_LABOUR = ("full", "partial", "weak", "none")
_GRADES = ("A", "B", "C", "D")

# Judged facts of Assessments that are drawn with the plain `judged_true_share`.
_PLAIN_JUDGED = (
    "rigid_expenditure_large",
    "income_sharply_reduced",
    "development_willingness",
    "overall_hardship",
    "uninhabitable_location",
    "harsh_environment_area",
    "development_potential",
    "capital_need",
    "repayment_capacity",
    "loan_willingness",
    "enterprise_potential",
    "skills",
    "migration_willingness",
    "industry_willingness",
    "relocation_willingness",
    "industrial_policy_compliant",
    "fixed_income_source",
    "stable_income_source",
    "has_resources",
    "location_lacks_subsistence",
    "in_situ_exit_costly",
    "income_secured",
    "old_age_secured",
    "surplus_labour",
    "unused_potential",
    "livelihood_difficulty",
    "rigid_expenditure_exceeds_income_markedly",
    "basic_living_affected",
    "rigid_expenditure_surged",
    "production_living_severe_difficulty",
    "guarantees_prominent_problem",
    "cannot_resolve_alone",
    "supporters_can_secure_living",
    "large_deposits_or_securities",
    "measures_effective",
    "rigid_expenditure_resolved",
    "rigid_expenditure_uncontrollable",
    "elimination_stability_weak",
    "risk_eliminated",
    "risk_stably_eliminated",
    "income_markedly_reduced",
    "income_outlook_unstable",
    "many_children",
    "wage_income_share_high",
    "work_time_unstable",
    "family_burden_heavy",
    "returned_to_poverty",
)


_MEMBER_IDS = tuple(f"m{k}" for k in range(1, 100))
_MEMBER_UNKNOWN = ("labour_capacity", "health", "disability_grade", "enrolled_in_school", "age")
_LOOKS = ("housing", "durables", "labour", "industry", "burden")
_GROUPS = (
    "income",
    "assets",
    "guarantees",
    "registration",
    "monitoring",
    "disaster",
    "rural_hukou",
    "members",
    "expenditure",
)
_SPECIAL_JUDGED = (
    "poverty_risk",
    "return_risk",
    "income_stable",
    "reaches_exit_line",
    "basic_living_severe_difficulty",
    "risk_causes",
)


# --- Building the models without validating them ----------------------------------------------------
# Validating a household costs about 0.5 ms (it carries some eighty judged facts, each a model), so the
# generator builds the models itself from values already of the type validation gives: Decimal amounts
# with two decimal places, date objects, tuples, model instances. It fills each instance as pydantic's
# validation does: every field in `__dict__` in declaration order (defaults for those not given), the
# given names as the fields set, no extras, no private attributes. The models are frozen, so equal parts
# are shared: judged facts, looks, guarantees and a few small records come from pools built once per
# county. A test validates the JSON of households and compares values, types, field sets and dumps.

_new = object.__new__
_M = TypeVar("_M", bound=BaseModel)
_set_dict, _set_fields_set, _set_extra, _set_private = (
    BaseModel.__dict__[name].__set__
    for name in ("__dict__", "__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__")
)


def _instance(cls: type[_M], values: dict[str, Any], fields_set: set[str]) -> _M:
    """A ``cls`` holding ``values`` (every field, in declaration order) with ``fields_set``."""
    obj = _new(cls)
    _set_dict(obj, values)
    _set_fields_set(obj, fields_set)
    _set_extra(obj, None)
    _set_private(obj, None)
    return obj


def _maker(cls: type[_M], ordered: bool = False) -> Callable[[dict[str, Any]], _M]:
    """A function building a ``cls`` from typed values, as ``cls.model_validate`` of their JSON would.

    With ``ordered``, the caller writes the fields in declaration order, so that a dict giving every
    field is used as it is.
    """
    template = {
        name: None if info.is_required() else info.get_default(call_default_factory=True)
        for name, info in cls.model_fields.items()
    }
    copy = template.copy
    n_fields = len(template)
    # Field sets are shared between instances given the same names (a set per instance would be a third
    # of the memory). Pydantic never changes a model's field set in place: copies get their own.
    fields_sets: dict[tuple[str, ...], set[str]] = {}

    def make(values: dict[str, Any]) -> _M:
        if ordered and len(values) == n_fields:
            d = values
        else:
            d = copy()
            d.update(values)
        obj = _new(cls)
        _set_dict(obj, d)
        names = tuple(values)
        fields_set = fields_sets.get(names)
        if fields_set is None:
            fields_set = fields_sets[names] = set(names)
        _set_fields_set(obj, fields_set)
        _set_extra(obj, None)
        _set_private(obj, None)
        return obj

    return make


_JudgedBool = Judged[bool]
_judged = _maker(_JudgedBool)
_member = _maker(Member)
_income = _maker(Income, ordered=True)
_income_item = _maker(IncomeItem, ordered=True)
_expenditure = _maker(Expenditure, ordered=True)
_vehicle = _maker(Vehicle, ordered=True)
_property = _maker(Property, ordered=True)
_enterprise = _maker(Enterprise, ordered=True)
_assets = _maker(Assets, ordered=True)
_guarantees = _maker(Guarantees)
_registration = _maker(Registration)
_monitoring = _maker(Monitoring)
_assessments = _maker(Assessments)
_look = _maker(Look)
_five_looks = _maker(FiveLooks, ordered=True)
_disaster = _maker(Disaster)
_project = _maker(ProjectBenefit, ordered=True)
_household = _maker(Household, ordered=True)

_CENT = Decimal("0.01")
_ZERO = Decimal("0.00")
# A context of its own: the exact product of whole fen and 0.01, without looking up the thread's context.
_multiply = Context(prec=28).multiply


def _money(x: float) -> Decimal:
    """Yuan to the fen, as validating ``f"{x:.2f}"`` gives it (negative figures become zero)."""
    return _multiply(round(x * 100), _CENT) if x > 0 else _ZERO


def _cumulative(weights: Iterable[float]) -> tuple[list[float], float, int]:
    """Cumulative weights, their total and the last index, for drawing with ``bisect`` as ``choices`` does."""
    cum = list(itertools.accumulate(weights))
    return cum, cum[-1], len(cum) - 1


class _Gen:
    """One county's draw: the random source, the profile and the date, with the pools of shared parts."""

    def __init__(self, seed: int, profile: Profile, as_of: date) -> None:
        self.r = random.Random(seed)
        self.rnd = self.r.random
        self.gauss = self.r.gauss
        p = self.p = profile
        self.as_of = as_of
        self.as_of_ordinal = as_of.toordinal()
        # The income, and each of its items, covers the twelve months before `as_of`, its own day not
        # counted in: the year a text that counts income back from the procedure's date names (seed 003,
        # lines 276 and 632).
        try:
            self.period_start = as_of.replace(year=as_of.year - 1)
        except ValueError:  # 29 February: the year before has no such day
            self.period_start = as_of.replace(year=as_of.year - 1, day=28)
        self.period_end = as_of - timedelta(days=1)
        judges = p.judges
        # Judged facts: every (value, judge, day) once; a draw picks an index into the value's pool.
        lo, hi = p.judged_days_before
        days = [as_of - timedelta(days=d) for d in range(lo, hi + 1)]
        self.jn = len(judges) * len(days)
        self.jpool = tuple(
            tuple(_judged({"value": v, "by": j, "on": d}) for j in judges for d in days) for v in (False, True)
        )
        # The plain judged facts of Assessments: outcomes in the proportions of the profile, to 1/65536.
        n_unknown = round(p.unknown_share * 65536)
        n_true = round((1.0 - p.unknown_share) * p.judged_true_share * 65536)
        self.plain_outcomes = bytes([0]) * n_unknown + bytes([1]) * n_true + bytes([2]) * (65536 - n_unknown - n_true)
        self.assessments_template = dict.fromkeys(Assessments.model_fields)
        self.assessment_fields_sets: dict[tuple[str, ...], set[str]] = {}
        # Looks: 1-400 days before `as_of`, or (a late record) 1-60 days after, by one of the judges.
        self.looks = tuple(
            _look({"assessed_on": as_of - timedelta(days=d), "assessor": j}) for j in judges for d in range(1, 401)
        )
        self.late_looks = tuple(
            _look({"assessed_on": as_of + timedelta(days=d), "assessor": j}) for j in judges for d in range(1, 61)
        )
        # Guarantees: five flags and the dwelling grade (housing safe iff A or B).
        self.guarantees = tuple(
            _guarantees(
                {
                    "food_secure": bool(bits & 1),
                    "clothing_secure": bool(bits & 2),
                    "compulsory_education": bool(bits & 4),
                    "basic_medical": bool(bits & 8),
                    "housing_safe": g in ("A", "B"),
                    "drinking_water_safe": bool(bits & 16),
                    "dwelling_safety_grade": g,
                }
            )
            for g in _GRADES
            for bits in range(32)
        )
        self.general_registrations: dict[tuple[bool, bool, str], Registration] = {}
        self.no_monitoring = _monitoring({"status": "none"})
        self.no_disaster = _disaster({"severity": "none"})
        self.villages = tuple(f"V{k:02d}" for k in range(1, p.villages + 1))
        self.size_w = _cumulative(p.size_weights)
        self.grade_w = _cumulative(p.disability_grade_weights)
        self.adult_labour_w = _cumulative(p.adult_labour_weights)
        self.elderly_labour_w = _cumulative(p.elderly_labour_weights)
        self.dwelling_grade_w = _cumulative(p.dwelling_grade_weights)
        self.origins = tuple(k for k, _ in p.dwelling_origin_weights)
        self.origin_w = _cumulative(w for _, w in p.dwelling_origin_weights)
        self.causes = tuple(k for k, _ in p.poverty_cause_weights)
        self.cause_w = _cumulative(w for _, w in p.poverty_cause_weights)
        self.elderly_school_w = _cumulative((0.35, 0.45, 0.20))
        self.adult_school_w = _cumulative((0.20, 0.50, 0.15, 0.10, 0.05))
        self.log_income_median = {
            "registered_poor": math.log(p.income_median_registered),
            "exited": math.log(p.income_median_exited),
            "exited_no_policy": math.log(p.income_median_exited),
            "general": math.log(p.income_median_general),
        }
        self.log_medical_serious = math.log(p.medical_serious)
        self.log_medical_chronic = math.log(p.medical_chronic)

    # --- small helpers --------------------------------------------------------------------------------

    def pick(self, items: tuple[Any, ...], weights: tuple[list[float], float, int]) -> Any:
        cum, total, hi = weights
        return items[bisect(cum, self.rnd() * total, 0, hi)]

    def judged(self, value: bool) -> Judged[bool]:
        return self.jpool[value][int(self.rnd() * self.jn)]

    def day(self, start: date, end: date) -> date:
        """A day from ``start`` to ``end`` inclusive, uniformly (``start`` if ``end`` is before it)."""
        span = (end - start).days
        return date.fromordinal(start.toordinal() + int(self.rnd() * (max(span, 0) + 1)))

    def days_before(self, lo: int, hi: int) -> date:
        return date.fromordinal(self.as_of_ordinal - lo - int(self.rnd() * (hi - lo + 1)))

    # --- parts ----------------------------------------------------------------------------------------

    def member(self, k: int, age: int, poor: bool) -> dict[str, Any]:
        p, rnd = self.p, self.rnd
        factor = p.poor_health_factor if poor else 1.0
        u = rnd()
        health = (
            "serious_illness"
            if u < p.serious_illness_rate * factor
            else "chronic"
            if u < (p.serious_illness_rate + p.chronic_rate) * factor
            else "healthy"
        )
        grade = 0
        if rnd() < p.disability_rate * factor:
            grade = 1 + bisect(self.grade_w[0], rnd() * self.grade_w[1], 0, self.grade_w[2])
        if age < 16:
            labour = "none"
        else:
            cum, total, hi = self.elderly_labour_w if age >= 60 else self.adult_labour_w
            labour = _LABOUR[bisect(cum, rnd() * total, 0, hi)]
            if health == "serious_illness" or grade in (1, 2):
                labour = "weak" if rnd() < 0.5 else "none"
            elif (health == "chronic" or grade) and labour == "full":
                labour = "partial"
        # Every member is registered and lives with the household; their income is the household's items.
        m: dict[str, Any] = {
            "id": _MEMBER_IDS[k],
            "on_hukou": True,
            "lives_with_household": True,
            "income_items": (),
            "age": age,
            "labour_capacity": labour,
            "health": health,
            "disability_grade": grade,
            "in_basic_medical_insurance": rnd() < 0.97,
        }
        if labour in ("weak", "none") and age >= 16:
            m["labour_loss_cause"] = (
                "age"
                if age >= 60 and health == "healthy" and not grade
                else "disability"
                if grade
                else "illness"
                if health != "healthy"
                else "other"
            )
        if health == "chronic":
            m["chronic_heavy_burden"] = self.judged(rnd() < p.chronic_heavy_share)
        if age >= 60:
            u = rnd()
            m["adl_status"] = (
                "disabled"
                if u < p.elderly_disabled
                else "semi_disabled"
                if u < p.elderly_disabled + p.elderly_semi_disabled
                else "independent"
            )
        else:
            m["adl_status"] = "disabled" if grade == 1 else "independent"
        # Schooling.
        stage, enrolled = self.schooling(age)
        m["education_stage"] = stage
        m["enrolled_in_school"] = enrolled
        if enrolled:
            m["schooling_kind"] = (
                "normal"
                if rnd() >= p.high_fee_schooling_share
                else ("high_fee_selection", "high_fee_private", "self_funded_abroad")[int(rnd() * 3)]
            )
        # Work.
        official = 18 <= age < 60 and rnd() < p.public_official_share * (0.2 if poor else 1.0)
        able = labour in ("full", "partial") and 16 <= age < 65
        m["is_public_official"] = official
        m["fiscally_supported"] = official
        m["employer_type"] = (
            "state_organ" if official else ("enterprise", "self", "other", "none")[int(rnd() * 4)] if able else "none"
        )
        m["stable_salary"] = official or (able and rnd() < 0.15)
        m["village_post"] = (
            "none"
            if not (able and rnd() < p.village_cadre_share)
            else ("party_secretary", "committee_director", "other")[int(rnd() * 3)]
        )
        m["migrant_worker"] = able and not official and rnd() < p.migrant_share
        if able:
            m["refuses_to_work"] = self.judged(rnd() < p.refuses_work_share)
        m["special_needs_medical"] = rnd() < p.special_needs_medical_share
        m["illegal_conduct"] = (
            (("gambling", "drugs", "illegal_business", "medical_fund_fraud")[int(rnd() * 4)],)
            if age >= 16 and rnd() < p.illegal_conduct_share
            else ()
        )
        # A small share of member facts unknown.
        if rnd() < p.unknown_share:
            del m[_MEMBER_UNKNOWN[int(rnd() * 5)]]
        return m

    def schooling(self, age: int) -> tuple[str, bool]:
        p, rnd = self.p, self.rnd
        if age < 3:
            return "none", False
        if age <= 5:
            return ("preschool", True) if rnd() < p.enrol_preschool else ("none", False)
        if age <= 11:
            return ("primary", True) if rnd() < p.enrol_compulsory else ("none", False)
        if age <= 14:
            return ("junior", True) if rnd() < p.enrol_compulsory else ("primary", False)
        if age <= 17:
            if rnd() < p.enrol_senior:
                return ("senior_general", "secondary_vocational")[int(rnd() * 2)], True
            return "junior", False
        if age <= 22 and rnd() < p.enrol_tertiary:
            return ("undergraduate", "junior_college", "technical")[int(rnd() * 3)], True
        if age >= 60:
            return self.pick(("none", "primary", "junior"), self.elderly_school_w), False
        return self.pick(
            ("primary", "junior", "senior_general", "secondary_vocational", "junior_college"), self.adult_school_w
        ), False

    def ages(self, size: int) -> list[int]:
        p, rnd = self.p, self.rnd
        if size == 1:
            head = 60 + int(rnd() * 29) if rnd() < max(p.elderly_head_share, 0.6) else 25 + int(rnd() * 35)
        else:
            head = 60 + int(rnd() * 21) if rnd() < p.elderly_head_share else 25 + int(rnd() * 35)
        ages = [head]
        child, elderly = p.child_share, p.child_share + p.elderly_share
        for _ in range(size - 1):
            u = rnd()
            ages.append(int(rnd() * 18) if u < child else 60 + int(rnd() * 31) if u < elderly else 18 + int(rnd() * 42))
        return ages

    def income(self, status: str, size: int) -> tuple[float, dict[str, Any], Income]:
        p, rnd, gauss = self.p, self.rnd, self.gauss
        if rnd() < p.snap_share:
            pcn = float(p.snap_lines[int(rnd() * len(p.snap_lines))])
        else:
            pcn = round(math.exp(gauss(self.log_income_median[status], p.income_sigma)), 2)
        total = round(pcn * size, 2)
        # Each source's share: its mean times a factor uniform in [0.5, 1.5), then normalised.
        raw = [m * (0.5 + rnd()) for m in (p.income_shares_general if status == "general" else p.income_shares_poor)]
        s = sum(raw) or 1.0
        parts = [round(total * x / s, 2) for x in raw[:3]]
        parts.append(round(max(total - sum(parts), 0.0), 2))
        lo, hi = p.disposable_ratio
        sigma = p.income_change_sigma
        inc: dict[str, Any] = {
            "period_start": self.period_start,
            "period_end": self.period_end,
            "per_capita_net": _money(pcn),
            "per_capita_disposable": _money(pcn * (lo + (hi - lo) * rnd())),
            "total_net": _money(total),
            "wage": _money(parts[0]),
            "business": _money(parts[1]),
            "property": _money(parts[2]),
            "transfer": _money(parts[3]),
            "insurance_claims": _money(500 + 19500 * rnd()) if rnd() < p.insurance_claim_share else _ZERO,
            "previous_year_total": _money(total * math.exp(gauss(0.0, sigma))),
            "items": tuple(
                _income_item(
                    {
                        "kind": kind,
                        "amount": _money(part),
                        "period_start": self.period_start,
                        "period_end": self.period_end,
                    }
                )
                for kind, part in zip(("wage", "business", "property", "transfer"), parts, strict=True)
            ),
        }
        last = _income(
            {
                "wage": _money(parts[0] * math.exp(gauss(0.0, sigma))),
                "business": _money(parts[1] * math.exp(gauss(0.0, sigma))),
                "property": _money(parts[2] * math.exp(gauss(0.0, sigma))),
                "transfer": _money(parts[3] * math.exp(gauss(0.0, sigma))),
            }
        )
        return pcn, inc, last

    def vehicles(self, poor: bool) -> tuple[Vehicle, ...]:
        p, rnd = self.p, self.rnd
        factor = p.poor_vehicle_factor if poor else 1.0
        out = []
        for kind, share in p.vehicle_shares:
            if rnd() < share * factor:
                v: dict[str, Any] = {
                    "kind": kind,
                    "value": _money(math.exp(self.gauss(math.log(60000 if kind in ("car", "truck") else 6000), 0.6))),
                    "use": "private"
                    if kind in ("car", "minivan", "motorcycle")
                    else ("production", "commercial")[int(rnd() * 2)],
                    "acquired_on": self.day(date(2008, 1, 1), self.as_of),
                    "high_priced": self.judged(rnd() < p.high_priced_vehicle_share),
                }
                if kind in ("truck", "passenger_vehicle"):
                    v["size_class"] = ("large", "medium", "small", "mini")[int(rnd() * 4)]
                out.append(_vehicle(v))
        return tuple(out)

    def properties(self, poor: bool) -> tuple[tuple[Property, ...], bool]:
        """The household's buildings, and whether one is a poverty-relocation flat."""
        p, rnd = self.p, self.rnd
        out = []
        relocated = False
        if rnd() < p.dwelling_share:
            origin = self.pick(self.origins, self.origin_w)
            relocated = origin == "poverty_relocation"
            out.append(
                _property(
                    {
                        "kind": "relocation_apartment" if relocated else "self_built",
                        "location": "urban" if relocated else "rural",
                        "origin": origin,
                        "built_or_bought_on": self.day(date(1980, 1, 1), self.as_of),
                        "newly_built": self.judged(rnd() < p.new_house_share),
                        "floor_area": _money(40 + 220 * rnd()),
                        "value": _money(30000 + 370000 * rnd()),
                        "high_priced": self.judged(rnd() < 0.03),
                    }
                )
            )
        factor = p.poor_vehicle_factor if poor else 1.0
        for kind, share in (("commodity_housing", p.commodity_housing_share), ("shop", p.shop_share)):
            if rnd() < share * factor:
                out.append(
                    _property(
                        {
                            "kind": kind,
                            "location": ("urban", "urban", "rural")[int(rnd() * 3)],
                            "origin": "purchase",
                            "built_or_bought_on": self.day(date(2005, 1, 1), self.as_of),
                            "newly_built": self.judged(rnd() < 0.2),
                            "floor_area": _money(50 + 100 * rnd()),
                            "value": _money(150000 + 750000 * rnd()),
                            "high_priced": self.judged(rnd() < 0.1),
                        }
                    )
                )
        return tuple(out), relocated

    def enterprises(self, poor: bool) -> tuple[Enterprise, ...]:
        p, rnd = self.p, self.rnd
        if rnd() >= p.enterprise_share * (p.poor_vehicle_factor if poor else 1.0):
            return ()
        large = rnd() < p.large_enterprise_share
        scale = 8 if large else 1
        return (
            _enterprise(
                {
                    "role": ("owner", "legal_person", "shareholder")[int(rnd() * 3)],
                    "registered": large or rnd() < 0.5,
                    "annual_revenue": _money((20000 + 280000 * rnd()) * scale),
                    "fixed_assets": _money((10000 + 190000 * rnd()) * scale),
                    "employees": 3 + int(rnd() * 38) if large else int(rnd() * 3),
                    "employs_others_long_term": large,
                    "annual_inspection_record": large,
                    "income_stable": self.judged(rnd() < 0.6),
                }
            ),
        )

    def registration(self, status: str, single_elderly: bool) -> Registration:
        p, rnd = self.p, self.rnd
        poor = status != "general"
        tekun = "none"
        if single_elderly and rnd() < p.tekun_share_single_elderly:
            tekun = "dispersed" if rnd() < 0.5 else "centralised"
        dibao = rnd() < (p.dibao_share_registered if poor else p.dibao_share_general)
        whole = dibao and rnd() < 0.5
        if not poor:
            key = (dibao, whole, tekun)
            reg = self.general_registrations.get(key)
            if reg is None:
                reg = self.general_registrations[key] = _registration(
                    {
                        "status": status,
                        "dibao": dibao,
                        "dibao_whole_household": whole,
                        "tekun": tekun,
                        "wubao": tekun != "none",
                        "poverty_causes": (),
                    }
                )
            return reg
        first = self.pick(self.causes, self.cause_w)
        causes: tuple[str, ...] = (first,)
        if rnd() < p.second_cause_share:
            second = self.pick(self.causes, self.cause_w)
            if second != first:
                causes = (first, second)
        values: dict[str, Any] = {
            "status": status,
            "dibao": dibao,
            "dibao_whole_household": whole,
            "tekun": tekun,
            "wubao": tekun != "none",
            "registered_on": self.day(date(2014, 4, 1), date(2016, 12, 31)),
            "poverty_causes": causes,
        }
        if status != "registered_poor":
            values["exited_on"] = self.day(date(2016, 10, 1), min(date(2020, 12, 31), self.as_of))
        return _registration(values)

    def assessments(self, pcn: float, poor: bool) -> tuple[Assessments, bool, bool]:
        """The judged facts, and whether the household is at risk and whether it had a shock.

        They are judged at one visit: one cadre, one day, drawn as for any judged fact.
        """
        p, rnd = self.p, self.rnd
        visit = int(rnd() * self.jn)
        judged_false, judged_true = self.jpool[0][visit], self.jpool[1][visit]
        # The plain facts: a 16-bit draw each, read through the table of outcomes (0 unknown, 1 true, 2 false).
        draws = array("H", self.r.randbytes(2 * len(_PLAIN_JUDGED)))
        if sys.byteorder == "big":
            draws.byteswap()
        codes = itemgetter(*draws)(self.plain_outcomes)
        a = self.assessments_template.copy()
        a.update(zip(_PLAIN_JUDGED, itemgetter(*codes)((None, judged_true, judged_false))))
        unknown = [_PLAIN_JUDGED[i] for i, code in enumerate(codes) if not code] if 0 in codes else []
        low = pcn <= p.risk_income
        # 最贫困 (among the poorest), judged at the same visit: the low-income households, with no draw of its own.
        a["among_poorest"] = judged_true if low else judged_false
        risk = rnd() < (p.risk_share_low if low else p.risk_share_high)
        shock = not low and rnd() < p.shock_share
        causes: tuple[str, ...] = ()
        if risk or shock:
            first = (
                _SHOCK_CAUSES[int(rnd() * len(_SHOCK_CAUSES))]
                if shock or rnd() < 0.6
                else _RISK_CAUSES[int(rnd() * len(_RISK_CAUSES))]
            )
            causes = (first,)
            if rnd() < 0.25:
                extra = _RISK_CAUSES[int(rnd() * len(_RISK_CAUSES))]
                if extra != first:
                    causes = (first, extra)
        unk = p.unknown_share
        if shock:
            # The shock's consequence is known to be true, unless (like any judged fact) it is unknown.
            name = ("rigid_expenditure_large", "income_sharply_reduced")[int(rnd() * 2)]
            if name in unknown:
                unknown.remove(name)
            if rnd() < unk:
                a[name] = None
                unknown.append(name)
            else:
                a[name] = judged_true
        reaches = pcn >= p.exit_line
        if rnd() < p.judgement_error:
            reaches = not reaches
        special = (
            judged_true if risk or shock else judged_false,
            judged_true if poor and (risk or shock) else judged_false,
            judged_true if not risk and rnd() < 0.8 else judged_false,
            judged_true if reaches else judged_false,
            judged_true if shock or (risk and rnd() < 0.3) else judged_false,
            causes,
        )
        for name, value in zip(_SPECIAL_JUDGED, special):
            if rnd() < unk:
                unknown.append(name)
            else:
                a[name] = value
        key = tuple(unknown)
        fields_set = self.assessment_fields_sets.get(key)
        if fields_set is None:
            fields_set = self.assessment_fields_sets[key] = set(Assessments.model_fields).difference(key)
        return _instance(Assessments, a, fields_set), risk or shock, shock

    def monitoring(self, status: str, risk: bool, shock: bool) -> Monitoring:
        p, rnd = self.p, self.rnd
        as_of = self.as_of
        if status == "registered_poor":
            return self.no_monitoring
        u = rnd()
        share = (p.monitored_share_exited if status != "general" else p.monitored_share_general) * 3
        if risk and u < share:
            st = "monitored"
        elif u < share + p.risk_eliminated_share:
            st = "risk_eliminated"
        elif u < share + p.risk_eliminated_share + p.tracked_attention_share:
            st = "tracked_attention"
        elif u < share + p.risk_eliminated_share + p.tracked_attention_share + p.rolled_back_share:
            st = "rolled_back"
        elif u < share + p.risk_eliminated_share + p.tracked_attention_share + p.rolled_back_share + p.removed_share:
            st = "removed"
        else:
            return self.no_monitoring
        included = self.day(max(date(2020, 3, 1), as_of - timedelta(days=700)), as_of)
        m: dict[str, Any] = {
            "status": st,
            "type": "unstable_exited" if status != "general" else "sudden_hardship" if shock else "edge_vulnerable",
            "included_on": included,
            "measures_started_on": min(included + timedelta(days=3 + int(rnd() * 28)), as_of),
            "status_since": included,
        }
        if st in ("risk_eliminated", "rolled_back", "removed"):
            elim = self.day(included, as_of)
            m["risk_eliminated_on"] = elim
            m["status_since"] = elim
            m["household_acknowledged"] = rnd() < 0.9
            m["income_stable_since"] = self.day(included, elim)
            if st == "rolled_back":
                m["rolled_back_on"] = m["status_since"] = self.day(elim, as_of)
            elif st == "removed":
                m["removed_on"] = m["status_since"] = self.day(elim, as_of)
        else:
            m["income_stable_since"] = self.day(included, as_of)
            m["household_acknowledged"] = False
        return _monitoring(m)

    def household(self, i: int) -> Household:
        p, rnd = self.p, self.rnd
        as_of = self.as_of
        cum, total, hi = self.size_w
        size = 1 + bisect(cum, rnd() * total, 0, hi)
        # Registration.
        if rnd() < p.ever_registered_share:
            if rnd() < p.still_registered_share:
                status = "registered_poor"
            else:
                status = "exited_no_policy" if rnd() < p.exited_no_policy_share else "exited"
        else:
            status = "general"
        poor = status != "general"
        ages = self.ages(size)
        members = [self.member(k, a, poor) for k, a in enumerate(ages)]
        pcn, inc, last = self.income(status, size)
        hh: dict[str, Any] = {
            "id": f"H{i + 1:06d}",
            "village": self.villages[int(rnd() * len(self.villages))],
            "rural_hukou": rnd() >= 0.01,
            "members": tuple(_member(m) for m in members),
            "income": inc,
            "income_same_period_last_year": last,
        }
        if p.jurisdiction is not None:
            hh["jurisdiction"] = p.jurisdiction
        # Expenditure.
        gauss = self.gauss
        medical = education = 0.0
        for m in members:
            health = m.get("health")
            medical += (
                math.exp(gauss(self.log_medical_serious, 0.5))
                if health == "serious_illness"
                else math.exp(gauss(self.log_medical_chronic, 0.5))
                if health == "chronic"
                else 800 * rnd()
            )
            if m.get("enrolled_in_school"):
                education += p.education_per_pupil * (0.3 + 2.7 * rnd())
        hh["expenditure"] = _expenditure(
            {
                "rigid_total": _money(medical + education),
                "medical_total": _money(medical),
                "medical_compliant_out_of_pocket": _money(medical * (0.15 + 0.35 * rnd())),
                "education": _money(education),
            }
        )
        # Assets.
        enterprises = self.enterprises(poor)
        properties, relocated = self.properties(poor)
        hh["assets"] = _assets(
            {
                "vehicles": self.vehicles(poor),
                "properties": properties,
                "enterprises": enterprises,
                "deposits_total": _money(math.exp(gauss(math.log(max(pcn, 500) * size * 0.8), 1.0))),
                "securities_total": _money(50000 * rnd()) if rnd() < 0.05 else _ZERO,
                "has_large_enterprise": self.judged(any(e.employs_others_long_term for e in enterprises)),
                "has_dwelling": bool(properties) or rnd() < 0.5,
            }
        )
        # Guarantees: one pooled record per combination of the five flags and the grade.
        cum, total, hi = self.dwelling_grade_w
        hh["guarantees"] = self.guarantees[
            (rnd() < p.food_secure)
            | (rnd() < p.clothing_secure) << 1
            | (rnd() < p.compulsory_education) << 2
            | (rnd() < p.basic_medical) << 3
            | (rnd() < p.drinking_water_safe) << 4
            | bisect(cum, rnd() * total, 0, hi) << 5
        ]
        hh["registration"] = self.registration(status, size == 1 and ages[0] >= 60)
        # Judged facts and monitoring.
        assessments, at_risk, shock = self.assessments(pcn, poor)
        hh["monitoring"] = self.monitoring(status, at_risk, shock)
        hh["assessments"] = assessments
        # The five looks.
        looks, n_looks = self.looks, len(self.looks)
        five = {look: looks[int(rnd() * n_looks)] for look in _LOOKS}
        if rnd() < p.looks_missing_share:
            gone = _LOOKS[int(rnd() * 5)]
            if rnd() < 0.5:
                del five[gone]
            else:
                five[gone] = self.late_looks[int(rnd() * len(self.late_looks))]
        hh["five_looks"] = _five_looks(five)
        # Disaster, projects, other flags.
        u = rnd()
        if u < p.severe_disaster_share + p.minor_disaster_share:
            hh["disaster"] = _disaster(
                {
                    "severity": "severe" if u < p.severe_disaster_share else "minor",
                    "occurred_on": self.days_before(10, 1000),
                }
            )
        else:
            hh["disaster"] = self.no_disaster
        projects = []
        if poor and rnd() < p.project_share_registered:
            for _ in range(1 + int(rnd() * 3)):
                projects.append(
                    _project(
                        {
                            "project": f"P{1 + int(rnd() * 300):03d}",
                            "fund_class": ("poverty", "poverty", "agri_related", "other")[int(rnd() * 4)],
                            "delivery": ("to_household", "coverage")[int(rnd() * 2)],
                            "delivered_on": self.day(date(2015, 1, 1), as_of),
                        }
                    )
                )
        hh["projects"] = tuple(projects)
        hh["refuses_asset_verification"] = rnd() < p.refuses_verification_share
        hh["credit_rated"] = rnd() < p.credit_rated_share
        hh["relocation_consent"] = rnd() < 0.05
        hh["relocated_urban_hukou"] = relocated_urban = relocated and rnd() < 0.2
        hh["urban_resident_benefits"] = relocated_urban and rnd() < 0.5
        hh["renovation_other_department_funds"] = rnd() < 0.02
        hh["months_absent"] = 1 + int(rnd() * 36) if rnd() < p.absent_share else 0
        hh["overrides"] = ()
        # A small share of whole fact groups unknown, and of per-capita income alone.
        unk = p.unknown_share
        for key in _GROUPS:
            if rnd() < unk:
                del hh[key]
        if "income" in hh:
            if rnd() < unk:
                del inc["per_capita_net"]
            hh["income"] = _income(inc)
        return _household(hh)


def _profile(profile: str | Profile) -> Profile:
    if isinstance(profile, Profile):
        return profile
    try:
        return PROFILES[profile]
    except KeyError:
        raise UnknownName("profile", profile, sorted(PROFILES)) from None


def _households(n: int, seed: int, profile: str | Profile, as_of: date) -> Iterator[Household]:
    if n < 0:
        raise UsageError(f"n must not be negative, not {n}")
    gen = _Gen(seed, _profile(profile), as_of)
    make = gen.household
    for i in range(n):
        yield make(i)


def county_json(
    n: int, seed: int, *, profile: str | Profile = "default", as_of: date = date(2021, 6, 30)
) -> Iterator[dict[str, Any]]:
    """Yield ``n`` synthetic households as JSON-ready dicts (amounts as strings, dates as ISO text).

    Each is the JSON form of the corresponding :func:`county` household: validating it gives an equal
    ``Household``. Unknown facts are absent; an empty list means "known to be none".
    """
    for household in _households(n, seed, profile, as_of):
        yield household.model_dump(mode="json", exclude_unset=True)


def county(
    n: int, seed: int, *, profile: str | Profile = "default", as_of: date = date(2021, 6, 30)
) -> list[Household]:
    """``n`` synthetic households as :class:`Household` objects; same seed, same county.

    The objects are built directly from typed values rather than validated (see above), and are
    equal to what validating :func:`county_json`'s dicts gives. Frozen parts (judged facts, looks,
    guarantees …) are shared between households.
    """
    # The households hold no reference cycles, so the cycle collector has nothing to find in them; left
    # on, it would walk the growing county again and again (more than half the time at 100,000).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return list(_households(n, seed, profile, as_of))
    finally:
        if collecting:
            gc.enable()
