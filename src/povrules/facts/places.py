"""The facts of the other subjects a decision can be about: a village and a county.

Exit standards are not only about households: a poor village leaves the list
(出列) and a poor county is delisted (摘帽) on figures of their own. These
models hold those figures as the statistics office or the poverty register
reports them. As with households, every fact may be unknown.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, field_validator
from pydantic_core import PydanticCustomError

from povrules.facts._base import (
    FactModel,
    Flag,
    Judged,
    Label,
    Money,
    Text,
    Whole,
    canonical_percent,
    fact,
    strict_amount,
)

# A growth rate in per cent, as statistics report it: it may be negative. Strict as Money is; four places.
Percent = Annotated[
    Decimal,
    Field(ge=-100, le=10000, max_digits=9, decimal_places=4, allow_inf_nan=False),
    BeforeValidator(strict_amount),
    AfterValidator(canonical_percent),
]


class VillageIncome(FactModel):
    """Rural residents' income in the village (农村居民收入), from the statistics: two yearly levels, so
    that a ruleset computes the growth itself."""

    year: Whole | None = fact(
        "统计年度",
        "The year of the this-year figure (the previous-year one is of the year before)",
        unit="年",
        ge=1949,
        le=9999,
    )
    disposable_per_capita: Money | None = fact(
        "农村居民人均可支配收入", "Rural residents' per-capita disposable income, this year", unit="元"
    )
    disposable_per_capita_previous: Money | None = fact(
        "上年农村居民人均可支配收入", "Rural residents' per-capita disposable income, the year before", unit="元"
    )
    county_non_poor_villages_growth: Percent | None = fact(
        "全县非贫困村农村居民可支配收入平均增长幅度",
        "Deprecated: the average growth over the county's non-poor villages, as given; compute it from "
        "village.county_non_poor_villages instead",
        unit="%",
    )


class ComparisonVillage(FactModel):
    """Another village of the county that a village is compared with (一高: 全县非贫困村), by its two yearly levels."""

    id: Label = Field(min_length=1, description="Village identifier (村编号)", json_schema_extra={"zh": "村编号"})
    year: Whole | None = fact("统计年度", "The year of the this-year figure", unit="年", ge=1949, le=9999)
    disposable_per_capita: Money | None = fact(
        "农村居民人均可支配收入", "Rural residents' per-capita disposable income, this year", unit="元"
    )
    disposable_per_capita_previous: Money | None = fact(
        "上年农村居民人均可支配收入", "Rural residents' per-capita disposable income, the year before", unit="元"
    )


class Village(FactModel):
    """A village (行政村) as an exit or monitoring rule sees it."""

    id: Label = Field(min_length=1, description="Village identifier (村编号)", json_schema_extra={"zh": "村编号"})
    name: Label | None = fact("村名", "Village name")
    county: Label | None = fact("所属县", "County the village belongs to")
    is_poor_village: Flag | None = fact("建档立卡贫困村", "On the register of poor villages (建档立卡贫困村)")
    households: Whole | None = fact("户数", "Households in the village", unit="户", ge=0)
    population: Whole | None = fact("人口", "People in the village (registered population)", unit="人", ge=0)
    poor_households: Whole | None = fact("贫困户数", "Registered poor households not yet exited", unit="户", ge=0)
    poor_population: Whole | None = fact("贫困人口", "Registered poor people not yet exited", unit="人", ge=0)
    income: VillageIncome | None = fact("收入", "Income of the village's rural residents")
    county_non_poor_villages: tuple[ComparisonVillage, ...] | None = fact(
        "全县非贫困村",
        "The county's non-poor villages with their income levels: at least one "
        "(an average over no village is undefined; unknown is null)",
        schema={"minItems": 1},
    )
    collective_income: Money | None = fact(
        "村集体经济收入", "Income of the village collective economy, this year", unit="元"
    )
    collective_own_income: Money | None = fact(
        "村集体经济自有收入", "Own income of the village collective (自有收入), this year", unit="元"
    )
    collective_operating_income: Money | None = fact(
        "村集体经济经营性收入", "Operating income of the village collective (经营性收入), this year", unit="元"
    )
    collective_own_income_2014: Money | None = fact(
        "2014年村集体经济自有收入", "Own income of the village collective in 2014", unit="元"
    )
    per_capita_net_income: Money | None = fact(
        "农民人均纯收入", "Rural residents' per-capita net income (纯收入), this year", unit="元"
    )
    industry_income_share: Percent | None = fact(
        "产业收入占农民人均纯收入的比例", "Industry income as a share of per-capita net income", unit="%"
    )
    grain_per_capita: Money | None = fact("人均产粮", "Grain output per person, this year", unit="公斤")
    all_households_subsistence_secure: Flag | None = fact(
        "全村所有农户稳定解决温饱", "Every household of the village has food and clothing, stably"
    )
    safe_drinking_water_solved: Flag | None = fact(
        "基本解决群众安全饮水问题", "Safe drinking water basically solved for the villagers"
    )
    all_eligible_in_social_security: Flag | None = fact(
        "符合条件的困难家庭人口全部纳入社会保障",
        "Every eligible member of a hardship family is covered by social security",
    )
    is_key_poverty_village: Flag | None = fact("扶贫工作重点村", "A key village of poverty work (扶贫工作重点村)")
    collective_economy_weak: Judged[bool] | None = fact(
        "集体经济薄弱、资源缺乏", "Weak collective economy and scarce resources (薄弱, judged)"
    )
    provincial_weak_village: Flag | None = fact(
        "省定经济薄弱村", "Designated by the province as an economically weak village"
    )
    natural_village: Flag | None = fact("自然村", "A natural village (自然村) rather than an administrative one")
    parent_is_poor_village: Flag | None = fact(
        "所属行政村为贫困村", "A natural village whose administrative village is a poor village"
    )
    poverty_areas: tuple[Text, ...] | None = fact(
        "所在扶贫片区", "Designated poverty areas the village lies in (片区, 聚居区), by the names the plan uses"
    )

    @field_validator("county_non_poor_villages")
    @classmethod
    def _some_village(cls, villages: tuple[ComparisonVillage, ...] | None) -> tuple[ComparisonVillage, ...] | None:
        # An average over no village is no figure: an empty group is refused, as an empty member list is.
        if villages is not None and not villages:
            raise PydanticCustomError("no_villages", "at least one village (null when the group is unknown)")
        return villages


class County(FactModel):
    """A county (县) as an exit rule sees it."""

    id: Label = Field(min_length=1, description="County identifier (县编号)", json_schema_extra={"zh": "县编号"})
    name: Label | None = fact("县名", "County name")
    is_poor_county: Flag | None = fact("贫困县", "Listed as a poor county (贫困县)")
    rural_population: Whole | None = fact("农业人口", "Rural population (agricultural registration)", unit="人", ge=0)
    poor_population: Whole | None = fact("贫困人口", "Registered poor people not yet exited", unit="人", ge=0)
    poor_villages: Whole | None = fact("贫困村数", "Registered poor villages not yet exited", unit="个", ge=0)
