"""A procedure's case file: how one household's identification, monitoring, exit or aid was handled.

A :class:`Case` is the subject of the procedure rulesets (``subject: case``): the kind of case, the plan it
follows, and its :class:`Event` list in date order (applied, visited, appraised, posted, reviewed,
approved, notified …), each with who acted, how many people, where a list was posted and for which days.
What a plan prescribes about those steps (their order, the team's size, the posting's days and place,
the working days between two steps, how often a helper visits) is a rule over these facts.

The file is read as complete up to the decision date: a step it does not hold was not taken, so a rule
that needs it is unknown (undetermined, naming the step) rather than false; how the plan's rules read
an absent step is each rule's to say.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError

from povrules.facts._base import Day, FactModel, Label, Whole, fact, labels

CaseKind = Literal[
    "identification",
    "monitoring_inclusion",
    "risk_elimination",
    "exit",
    "reentry",
    "assistance",
    "pv_participation",
    "student_aid",
    "loan",
]
Step = Literal[
    "application",
    "discovery",
    "nomination",
    "department_screening",
    "household_visit",
    "group_appraisal",
    "village_deliberation",
    "village_review",
    "village_posting",
    "objection",
    "objection_handled",
    "school_review",
    "school_posting",
    "township_review",
    "township_posting",
    "county_comparison",
    "county_approval",
    "county_posting",
    "city_approval",
    "city_filing",
    "registration",
    "notice",
    "helper_assigned",
    "plan_made",
    "measures_started",
    "helper_visit",
    "helper_contact",
    "credit_rating",
    "consent",
    "bank_review",
    "payment",
    "report",
    "agreement",
    "extension",
    "pre_exit_marking",
]
Actor = Literal[
    "household",
    "villager_group",
    "villager_representatives",
    "village_committee",
    "resident_team",
    "helper",
    "township",
    "county_office",
    "county_government",
    "department",
    "bank",
    "school",
    "education_bureau",
    "enterprise",
]
PostingPlace = Literal["group", "village", "township", "county", "school", "online"]
StepOutcome = Literal["done", "passed", "failed", "objection", "no_objection"]

# Minutes of the day as HH:MM (24 h): some steps are timed (a posting put up, a meeting held).
_CLOCK = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")


def _clock(value: Any) -> Any:
    if value.__class__ is str and _CLOCK.fullmatch(value):
        return value
    raise PydanticCustomError("clock", "a time of day as HH:MM, from 00:00 to 23:59")


Clock = Annotated[
    str,
    BeforeValidator(_clock),
    WithJsonSchema({"type": "string", "pattern": "^" + _CLOCK.pattern + "$"}),
]


class Event(FactModel):
    """One step of a case as the file records it."""

    step: Step = Field(description="The step (办理环节)", json_schema_extra=labels("办理环节"))
    date: Day = Field(description="The day the step was taken (or began)", json_schema_extra=labels("日期"))
    time: Clock | None = fact("时间", "The time of day, HH:MM, where it matters")
    end: Day | None = fact("结束日期", "The last day of a step that lasts (a posting's last day)")
    actor: Actor | None = fact("办理主体", "Who took the step")
    people: Whole | None = fact("参与人数", "How many people took part (a visiting team, a panel)", unit="人", ge=0)
    signatures: Whole | None = fact("签字人数", "How many people signed the step's record", unit="人", ge=0)
    place: PostingPlace | None = fact("公示地点", "Where a list was posted")
    outcome: StepOutcome | None = fact("结果", "What the step found or decided")
    reference: Label | None = fact(
        "文书编号", "The record's reference (a document or minutes number)", personal="identifier"
    )

    @model_validator(mode="after")
    def _span(self) -> Event:
        if self.end is not None and self.end < self.date:
            raise PydanticCustomError(
                "date_order",
                "an end on or after the step's date ({date})",
                {"date": str(self.date), "within": ["end"], "given": str(self.end)},
            )
        return self


class Case(FactModel):
    """A case file: one household's identification, monitoring, exit or aid, step by step."""

    id: Label = Field(
        min_length=1,
        description="Case identifier (案卷编号)",
        json_schema_extra=labels("案卷编号", personal="identifier"),
    )
    kind: CaseKind | None = fact("案卷类型", "What the case decides")
    plan: Label | None = fact("所依方案", "The plan the case follows (a ruleset id)")
    household: Label | None = fact("户编号", "The household the case is about", personal="identifier")
    events: tuple[Event, ...] | None = fact("办理环节", "The steps taken, in date order")

    @model_validator(mode="after")
    def _in_order(self) -> Case:
        # Rules take "the first village posting" in the file's order; a file out of date order would make
        # that another posting than the earliest, so it is refused rather than re-sorted.
        for index, (before, after) in enumerate(zip(self.events or (), (self.events or ())[1:]), start=1):
            if after.date < before.date:
                raise PydanticCustomError(
                    "event_order",
                    "events in date order: events[{index}] ({step}, {date}) comes before events[{previous}] "
                    "({before_step}, {before_date})",
                    {
                        "index": index,
                        "step": after.step,
                        "date": str(after.date),
                        "previous": index - 1,
                        "before_step": before.step,
                        "before_date": str(before.date),
                        "within": ["events", index, "date"],
                        "given": str(after.date),
                    },
                )
        return self


__all__ = ["Actor", "Case", "CaseKind", "Clock", "Event", "PostingPlace", "Step", "StepOutcome"]
