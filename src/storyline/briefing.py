"""The briefing schema ``storyline.briefing/1``, validated in code (pydantic).

Every field of CONTRACT.md's briefing is here; fields beyond the contract are additions only.
``docs/briefing-schema.md`` documents it and ``tests/test_briefing.py`` keeps the two in step.
"""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

SCHEMA: Final = "storyline.briefing/1"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form, under the schema's field names."""
        return self.model_dump(by_alias=True, mode="json")


class Citation(_Model):
    """The span ``text[start:end]`` of source ``source`` that supports a statement."""

    source: str = Field(pattern=r"^S[1-9][0-9]*$")
    start: int = Field(ge=0)
    end: int = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Citation:
        if self.end < self.start:
            raise ValueError(f"citation end {self.end} before start {self.start}")
        return self


class CitedText(_Model):
    text: str
    citations: list[Citation]
    # Beyond the contract: who argues an opinion the summary quotes ("Harbour Gazette commentator
    # Mara Lund argues"); ``text`` is then ``attribution: “the source's sentence”``. Left out of
    # the JSON when None, so a cited text keeps the contract's two keys.
    attribution: str | None = None

    @model_serializer(mode="wrap")
    def _without_empty_attribution(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if data.get("attribution") is None:
            data.pop("attribution", None)
        return data


class Period(_Model):
    start: str | None = None
    end: str | None = None


class SourceModel(_Model):
    """The contract's document object."""

    id: str
    origin: str
    url: str | None = None
    title: str | None = None
    authors: list[str] = []
    author_roles: dict[str, str] = {}
    outlet: str | None = None
    published: str | None = None
    published_from: Literal["meta", "text", "url", "inferred", "corrected"] | None = None
    language: str | None = None
    country: str | None = None
    kind: Literal["news", "opinion", "interview", "analysis"] | None = None
    words: int = 0
    duplicate_of: str | None = None
    boilerplate_removed_chars: int = 0
    text: str
    also_at: list[str] = []
    content_hash: str | None = None
    ownership: str | None = None  # from the outlet registry: state-affiliated, public, private, ...
    # Beyond the contract: the source's time for the stages that expect coverage (published,
    # else inferred: the latest date of a past event it reports, a lower bound).
    effective_date: str | None = None
    effective_date_inferred: bool = False


class TimelineItem(_Model):
    date: str = Field(pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$")
    text: str
    status: Literal["happened", "scheduled", "expected"]
    citations: list[Citation]


class EntityItem(_Model):
    name: str
    type: Literal["PERSON", "ORG", "GPE", "LOC", "NORP", "EVENT", "LAW", "FAC", "OTHER"]
    aliases: list[str] = []
    roles: list[str] = []
    mentions: int
    sources: list[str]


class QuoteItem(_Model):
    speaker: str | None
    text: str
    cue: str | None
    direct: bool
    citations: list[Citation]


class ForecastItem(_Model):
    holder: str | None
    text: str
    made_on: str | None
    horizon: str | None
    confidence: Literal["certain", "likely", "possible", "unlikely"]
    citations: list[Citation]


class IssueSourceView(_Model):
    sentences: int
    position: list[CitedText] = []


class IssueItem(_Model):
    label: str
    keywords: list[str] = []
    summary: list[CitedText] = []
    by_source: dict[str, IssueSourceView] = {}
    agreed: list[CitedText] = []
    disputed: list[CitedText] = []


class CountryGroup(_Model):
    """Beyond the contract: the sources of one country (``null``: country unknown)."""

    country: str | None
    sources: list[str]
    outlets: list[str] = []
    issues: dict[str, int] = {}  # issue label -> sentences these sources give it


class Blindspot(_Model):
    """Beyond the contract: an issue covered by one country's outlets only."""

    issue: str
    country: str
    sources: list[str]
    note: str


class Conflict(_Model):
    """Beyond the contract: sources that contradict each other on the same thing, side by side."""

    topic: str
    kind: Literal["date", "number", "outcome", "assessment"]
    sides: list[CitedText]


class StoryCheck(_Model):
    """Beyond the contract: whether the sources form one story, and which stand apart."""

    coherent: bool
    outliers: list[str] = []
    note: str | None = None


class Bearing(_Model):
    """Beyond the contract: an earlier forecast and a later sentence about the same thing (its
    outcome, a step towards it, or news against it), each cited."""

    forecast: CitedText
    later: CitedText


class NewSince(_Model):
    """Beyond the contract: what the story's sources after a cut say that those before did not.

    ``since``: the cut as given (a date or a time); ``basis``: how a source is placed after it
    (``date``: published on or after it, an undated source by when it was stored; ``last
    briefing`` / ``last visit``: filed into the story after then); ``sources``: the sources
    after the cut; ``note``: why the section is empty, when it is."""

    since: str
    basis: Literal["date", "last briefing", "last visit"]
    sources: list[str] = []
    summary: list[CitedText] = []
    quotes: list[QuoteItem] = []
    forecasts: list[ForecastItem] = []
    bearing: list[Bearing] = []
    note: str | None = None

    def cited(self) -> list[Any]:
        """Every cited item of the section."""
        pairs = [part for item in self.bearing for part in (item.forecast, item.later)]
        return [*self.summary, *self.quotes, *self.forecasts, *pairs]

    @property
    def empty(self) -> bool:
        return not (self.summary or self.quotes or self.forecasts or self.bearing)


class OtherStory(_Model):
    """Beyond the contract: another story found in the same pile, briefed apart (or not at all):
    its title and the origins of its documents."""

    title: str
    documents: list[str]


class StorylineNeighbour(_Model):
    """Beyond the contract: the story just before or after the briefed one in its storyline."""

    id: int
    title: str
    period: Period


class StorylinePlace(_Model):
    """Beyond the contract: where a stored story stands in its storyline, whose stories are
    ordered by period. ``place`` counts from 1; ``stories``: how many the storyline holds."""

    id: int
    title: str
    place: int = Field(ge=1)
    stories: int = Field(ge=1)
    previous: StorylineNeighbour | None = None
    next: StorylineNeighbour | None = None

    @model_validator(mode="after")
    def _place_within(self) -> StorylinePlace:
        if self.place > self.stories:
            raise ValueError(f"place {self.place} past the storyline's {self.stories} stories")
        return self


class Briefing(_Model):
    schema_: Literal["storyline.briefing/1"] = Field(SCHEMA, alias="schema")
    title: str
    generated_at: str
    period: Period
    sources: list[SourceModel]
    summary: list[CitedText] = []
    timeline: list[TimelineItem] = []
    entities: list[EntityItem] = []
    quotes: list[QuoteItem] = []
    forecasts: list[ForecastItem] = []
    issues: list[IssueItem] = []
    countries: list[CountryGroup] = []
    blindspots: list[Blindspot] = []
    conflicts: list[Conflict] = []
    story: StoryCheck | None = None
    words: int | None = None
    new_since: NewSince | None = None
    other_stories: list[OtherStory] = []
    storyline: StorylinePlace | None = None

    @model_validator(mode="after")
    def _citations_point_into_sources(self) -> Briefing:
        lengths = {source.id: len(source.text) for source in self.sources}
        for citation in self._all_citations():
            if citation.source not in lengths:
                raise ValueError(f"citation of unknown source {citation.source}")
            if citation.end > lengths[citation.source]:
                raise ValueError(
                    f"citation {citation.source}[{citation.start}:{citation.end}] runs past the "
                    f"end of its text ({lengths[citation.source]} characters)"
                )
        return self

    def _all_citations(self) -> list[Citation]:
        groups: list[Any] = [*self.summary, *self.timeline, *self.quotes, *self.forecasts]
        for issue in self.issues:
            groups += [*issue.summary, *issue.agreed, *issue.disputed]
            for view in issue.by_source.values():
                groups += view.position
        for conflict in self.conflicts:
            groups += conflict.sides
        if self.new_since is not None:
            groups += self.new_since.cited()
        return [citation for group in groups for citation in group.citations]

    def with_new_since(self, section: NewSince | None) -> Briefing:
        """A copy holding ``section``, validated (its citations too)."""
        data = self.model_dump(by_alias=True)
        data["new_since"] = section.model_dump() if section is not None else None
        return Briefing.model_validate(data)

    def with_storyline(self, place: StorylinePlace | None) -> Briefing:
        """A copy placed in its storyline (None: in none). No citation changes, so the copy
        needs no second validation."""
        return self.model_copy(update={"storyline": place})

    def cited_text(self, citation: Citation) -> str:
        """The source text a citation points at."""
        source = next(s for s in self.sources if s.id == citation.source)
        return source.text[citation.start:citation.end]


# --- the key-date timeline of `storyline timeline` ------------------------------------------

TIMELINE_SCHEMA: Final = "storyline.timeline/1"


class KeyDateItem(_Model):
    """One of the key dates: the day and its cited sentences, most central first."""

    date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    sentences: list[CitedText]


class TimelineSource(_Model):
    """A document the key dates were chosen from (its text is the input's own, not repeated)."""

    id: str
    origin: str
    record_id: str | None = None
    title: str | None = None
    published: str | None = None


class KeyDates(_Model):
    """``storyline timeline``'s answer: the key dates in date order, and every source read."""

    schema_: Literal["storyline.timeline/1"] = Field(TIMELINE_SCHEMA, alias="schema")
    window: Period
    timeline: list[KeyDateItem]
    sources: list[TimelineSource]
    notes: list[str] = []

    @model_validator(mode="after")
    def _citations_name_sources(self) -> KeyDates:
        known = {source.id for source in self.sources}
        for item in self.timeline:
            for sentence in item.sentences:
                for citation in sentence.citations:
                    if citation.source not in known:
                        raise ValueError(f"citation of unknown source {citation.source}")
        return self
