"""The briefing schema: validation in code, and its documentation kept in step."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from storyline import briefing as schema
from storyline.briefing import Briefing, Citation, CitedText, Period, SourceModel

DOC = (Path(__file__).resolve().parents[1] / "docs" / "briefing-schema.md").read_text("utf-8")
MODELS = [schema.Briefing, schema.TimelineItem, schema.EntityItem, schema.QuoteItem,
          schema.ForecastItem, schema.IssueItem, schema.CountryGroup,
          schema.Blindspot, schema.Conflict, schema.NewSince, schema.Bearing,
          schema.StorylinePlace, schema.StorylineNeighbour]


def _briefing(citation_end: int) -> Briefing:
    return Briefing(
        title="Ferry line approved", generated_at="2024-03-05T10:00:00+00:00", period=Period(),
        sources=[SourceModel(id="S1", origin="ferry.txt", text="The council approved the ferry.")],
        summary=[CitedText(text="The council approved the ferry.",
                           citations=[Citation(source="S1", start=0, end=citation_end)])],
    )


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_field_is_documented(model: type[BaseModel]) -> None:
    documented = set(re.findall(r"`(\w+)`", DOC))
    for name, field in model.model_fields.items():
        assert (field.alias or name) in documented, f"{model.__name__}.{name} is undocumented"


def test_json_has_the_schema_key_and_cited_text_resolves() -> None:
    briefing = _briefing(citation_end=31)
    data = briefing.to_dict()
    assert data["schema"] == "storyline.briefing/1"
    assert briefing.cited_text(briefing.summary[0].citations[0]) == briefing.summary[0].text


def test_a_citation_past_the_end_of_its_source_is_refused() -> None:
    with pytest.raises(ValidationError, match="runs past the end"):
        _briefing(citation_end=500)


def test_a_citation_of_an_unknown_source_is_refused() -> None:
    with pytest.raises(ValidationError):
        Briefing(title="t", generated_at="now", period=Period(), sources=[],
                 summary=[CitedText(text="x", citations=[Citation(source="S9", start=0, end=1)])])


def test_a_briefing_is_in_no_storyline_unless_placed() -> None:
    assert _briefing(citation_end=31).to_dict()["storyline"] is None


def test_a_place_past_the_storyline_s_end_is_refused() -> None:
    with pytest.raises(ValidationError, match="past the storyline"):
        schema.StorylinePlace(id=1, title="Ferry", place=4, stories=3)
