"""storyline.annotate.forecasts: invented sentences for every rule, then the seed articles.

Every text below is ours; seed expectations are names, confidences and counts only.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from storyline.annotate.forecasts import find_forecasts
from storyline.annotate.nlp import parse
from storyline.model import Forecast, Quote, Timex

AUTHOR = "Mara Lind"
PUBLISHED = "2030-03-04"


def timex(text: str, phrase: str, value: str, kind: str = "DATE") -> Timex:
    start = text.index(phrase)
    return Timex(start, start + len(phrase), phrase, kind, value)  # type: ignore[arg-type]


def quote(text: str, content: str, speaker: str, *, direct: bool = True) -> Quote:
    start = text.index(content)
    at = text.find(speaker)
    return Quote(speaker=speaker, speaker_start=at if at >= 0 else None,
                 speaker_end=at + len(speaker) if at >= 0 else None, cue="said",
                 content=content, start=start, end=start + len(content), direct=direct)


def forecasts(text: str, *, timexes: list[Timex] | None = None,
              quotes: list[Quote] | None = None, author: str | None = AUTHOR,
              published: str | None = PUBLISHED) -> list[Forecast]:
    found = find_forecasts(parse(text), quotes=quotes or [], timexes=timexes or [],
                           author=author, published=published)
    for forecast in found:
        assert text[forecast.start:forecast.end] == forecast.text
        assert forecast.made_on == published
    return found


def only(text: str, **kwargs: object) -> Forecast:
    found = forecasts(text, **kwargs)  # type: ignore[arg-type]
    assert len(found) == 1, found
    return found[0]


# --- markers and confidence ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "confidence"),
    [
        ("The harbour authority will raise its fees.", "certain"),
        ("The Kestrel Party will not win a single seat in Brenton.", "certain"),
        ("The strike is bound to spread to the rail network.", "certain"),
        ("The ferry operator is set to cut its winter routes.", "certain"),
        ("There is no doubt that the dam will hold.", "certain"),
        ("The mayor is likely to lose the vote in Brenton.", "likely"),
        ("The mayor is most likely to keep her seat.", "likely"),
        ("Most likely, the ferry fares will climb again.", "likely"),
        ("The odds are that the council would reject the plan.", "likely"),
        ("The new bridge is expected to carry twice the traffic.", "likely"),
        ("Inflation will probably ease in the valley.", "likely"),
        ("I expect the council to approve the budget.", "likely"),
        ("Trade could suffer badly from the new harbour rules.", "possible"),
        ("Ferry traffic might collapse after the elections.", "possible"),
        ("The union may call a second strike after the summit.", "possible"),
        ("The bridge is unlikely to reopen in its old form.", "unlikely"),
        ("It is not likely that the governor will sign the bill.", "unlikely"),
        ("I do not expect the river to flood again.", "unlikely"),
    ],
)
def test_confidence_from_the_hedging(text: str, confidence: str) -> None:
    assert only(text).confidence == confidence


def test_the_hedge_outranks_the_modal_it_embeds() -> None:
    # "not likely that ... will": the epistemic phrase speaks for the sentence, not the "will".
    assert only("It is not likely that the port will close.").confidence == "unlikely"


def test_negation_inside_the_prediction_keeps_the_confidence() -> None:
    # Negating the predicted event is a negative forecast, as sure as the positive one.
    assert only("The odds are that the council would not approve the tunnel.").confidence \
        == "likely"
    assert only("The council would not approve the tunnel.").confidence == "likely"
    assert only("The mayor may not run again.").confidence == "possible"


def test_negated_hedge_lowers_the_confidence() -> None:
    assert only("The mayor is not certain to win.").confidence == "possible"
    assert only("The mayor is not likely to win.").confidence == "unlikely"


# --- what is not a forecast --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Will the strike end soon?",  # a question
        "What could happen to the ferries after the vote?",
        "The union must accept the offer.",  # demands and requirements
        "The workers should return to the docks.",
        "If the council were to approve it, the fees would stay.",  # a hypothesis in its if-clause
        "The Norden council would have preferred a later date.",  # a past counterfactual
        "If the mayor had resigned, the council would have collapsed.",  # a past conditional
        "She would like to visit the islands.",  # a wish
        "Farmers always say the rain will come.",  # a generic truth
        "The port can handle twelve ships.",  # ability
        "Nobody wants a deal which would cost jobs and would anger the unions.",  # relative clauses
        "European ministers might look tired.",  # a present possibility
        "Exports could not recover that winter.",  # past inability
        "The mayor expected a quiet summer, but the floods came.",  # an old expectation
        "The ferries were late, as expected.",
        "The bridge was likely to fail, engineers found afterwards.",
        "It can be said that the harbour has changed.",  # a stock phrase
        "The tolls rose sharply in the valley.",  # no marker at all
    ],
)
def test_not_forecasts(text: str) -> None:
    assert forecasts(text) == []


def test_if_clause_alone_is_no_forecast_but_its_main_clause_is() -> None:
    text = "If the talks fail, prices will rise."
    found = only(text)
    assert found.text == text and found.confidence == "certain"
    assert forecasts("If the mayor might resign, nobody knows.") == []


def test_scheduled_fact_goes_to_the_timeline_not_the_ledger() -> None:
    text = "The commission will meet on March 20."
    assert forecasts(text, timexes=[timex(text, "March 20", "2030-03-20")]) == []
    # A date already past at publication is an announcement reported afterwards: still scheduled.
    text = "There will be a truce in the valley from noon on March 1."
    assert forecasts(text, timexes=[timex(text, "March 1", "2030-03-01")]) == []


def test_set_to_with_a_date_is_a_scheduled_fact_and_without_one_a_forecast() -> None:
    text = "The minister is set to visit the islands on March 20."
    assert forecasts(text, timexes=[timex(text, "March 20", "2030-03-20")]) == []
    assert only("The minister is set to visit the islands.").confidence == "certain"


def test_quoted_forecast_of_an_unknown_speaker() -> None:
    # The reporting verb's own subject names the holder when the quote stage could not ...
    text = '"The fares will climb," a ferry worker said.'
    unknown = Quote(None, None, None, "said", "The fares will climb,", 1, 22, True)
    assert only(text, quotes=[unknown]).holder == "ferry worker"
    # ... and a pronoun names nobody: the author did not say it either.
    text = '"The fares will climb," she said.'
    assert only(text, quotes=[unknown]).holder is None


def test_a_dated_prediction_with_a_non_scheduling_verb_stays_a_forecast() -> None:
    text = "After the vote on March 20, the mayor will finally gain a free hand."
    found = only(text, timexes=[timex(text, "March 20", "2030-03-20")])
    assert found.confidence == "certain"
    assert found.horizon is not None and found.horizon.startswith("After the vote")


def test_a_hedged_scheduled_event_is_a_forecast() -> None:
    text = "The commission will probably meet on March 20."
    found = only(text, timexes=[timex(text, "March 20", "2030-03-20")])
    assert found.confidence == "likely"


def test_can_needs_a_future_horizon() -> None:
    text = "Nothing can be settled until the end of next year."
    found = only(text, timexes=[timex(text, "the end of next year", "2031")])
    assert found.confidence == "possible"
    assert found.horizon == "until the end of next year"


def test_stative_might_with_a_horizon_is_a_forecast() -> None:
    text = "The island might be empty by 2040."
    assert only(text, timexes=[timex(text, "2040", "2040")]).horizon == "by 2040"


# --- horizon -------------------------------------------------------------------------------------


def test_horizon_from_a_future_timex_with_its_preposition() -> None:
    text = "Analysts expect the krona to weaken by the end of the year."
    found = only(text, timexes=[timex(text, "the end of the year", "2030")])
    # "2030" is the publication year itself: not after it, so the timex alone would not do,
    # but the whole phrase is governed by "by" and ...
    assert found.horizon in (None, "by the end of the year")
    text = "Analysts expect the krona to weaken next year."
    found = only(text, timexes=[timex(text, "next year", "2031")])
    assert found.horizon == "next year"


def test_horizon_from_an_event_phrase() -> None:
    assert only("Inflation will ease after the summit.").horizon == "after the summit"
    assert only("Ferry traffic might collapse after the elections.").horizon \
        == "after the elections"


def test_horizon_from_a_duration_governed_by_in() -> None:
    text = "The harbour will be silted up in three years."
    assert only(text, timexes=[timex(text, "three years", "P3Y", "DURATION")]).horizon \
        == "in three years"
    text = "The mayor will speak in the three-year-old hall."
    found = only(text, timexes=[timex(text, "three-year", "P3Y", "DURATION")])
    assert found.horizon is None  # an age is not a horizon


def test_past_or_present_timex_is_no_horizon() -> None:
    text = "The council will vote today."
    assert only(text, timexes=[timex(text, "today", "PRESENT_REF")]).horizon is None
    text = "The report will describe the floods of March 2029."
    assert only(text, timexes=[timex(text, "March 2029", "2029-03")]).horizon is None


def test_future_ref_is_a_horizon_only_as_an_adverbial() -> None:
    text = "In the future the valley will need a second dam."
    assert only(text, timexes=[timex(text, "the future", "FUTURE_REF")]).horizon == \
        "In the future"
    text = "The mayor will talk about the future of the port."
    assert only(text, timexes=[timex(text, "the future", "FUTURE_REF")]).horizon is None


def test_without_a_publication_date_future_words_still_mark_a_horizon() -> None:
    text = "The tunnel will open next year."
    found = only(text, timexes=[timex(text, "next year", "FUTURE_REF")], published=None)
    assert found.made_on is None and found.horizon == "next year"


# --- holder ------------------------------------------------------------------------------------


def test_author_voice_holds_unattributed_forecasts() -> None:
    assert only("The mayor is likely to lose the vote.").holder == AUTHOR
    assert only("The mayor is likely to lose the vote.", author=None).holder is None


def test_quote_speaker_holds_a_quoted_forecast_and_the_text_is_the_content() -> None:
    text = '"I do not expect the river to flood again," said Ilse Varga, a hydrologist.'
    content = "I do not expect the river to flood again,"
    found = only(text, quotes=[quote(text, content, "Ilse Varga")])
    assert found.holder == "Ilse Varga"
    assert found.confidence == "unlikely"
    assert found.text == "I do not expect the river to flood again"


def test_multi_sentence_quote_each_sentence_held_by_the_speaker() -> None:
    text = ('"The dam is unlikely to hold. The town will flood," Ilse Varga said. '
            "The council met on Tuesday.")
    content = "The dam is unlikely to hold. The town will flood,"
    found = forecasts(text, quotes=[quote(text, content, "Ilse Varga")])
    assert [f.holder for f in found] == ["Ilse Varga", "Ilse Varga"]
    assert [f.confidence for f in found] == ["unlikely", "certain"]


def test_indirect_quote_speaker_holds_the_forecast() -> None:
    text = "Tomas Reed said that the ferry would stop in winter."
    content = "the ferry would stop in winter"
    found = only(text, quotes=[quote(text, content, "Tomas Reed", direct=False)])
    assert found.holder == "Tomas Reed" and found.confidence == "likely"


def test_reported_subject_of_a_cognition_verb_holds_the_forecast() -> None:
    assert only("Local fishermen expect the quotas to fall.").holder == "Local fishermen"
    found = only("Tomas Reed believes the toll will rise.")
    assert found.holder == "Tomas Reed" and found.confidence == "certain"


def test_passive_expectation_is_not_held_by_its_subject() -> None:
    # "X is expected to": somebody else expects it; with nobody named, the author speaks.
    assert only("Tomas Reed is expected to resign.").holder == AUTHOR


def test_according_to_names_the_holder() -> None:
    found = only("The bridge is unlikely to reopen soon, according to Tomas Reed.")
    assert found.holder == "Tomas Reed" and found.confidence == "unlikely"


def test_first_person_inside_a_quote_is_the_speaker() -> None:
    text = '"I think the fares will climb," Ilse Varga said.'
    found = only(text, quotes=[quote(text, "I think the fares will climb,", "Ilse Varga")])
    assert found.holder == "Ilse Varga"
    assert found.confidence == "likely"  # "I think" softens the "will"


def test_first_person_outside_quotes_is_the_author() -> None:
    assert only("I expect the ferry to be sold.").holder == AUTHOR


def test_a_forecast_never_crosses_a_paragraph_break() -> None:
    text = "Harbour fees\n\nThe fees will rise.\n\nThe mayor met the union."
    found = only(text)
    assert found.text == "The fees will rise."


def test_one_forecast_per_sentence_in_text_order() -> None:
    text = ("The fees will rise. The mayor met the union. The strike might spread. "
            "Will it end?")
    found = forecasts(text)
    assert [f.confidence for f in found] == ["certain", "possible"]
    assert found[0].start < found[1].start


# --- seeds ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed_forecasts(seeds_dir: Path) -> dict[str, list[Forecast]]:
    import storyline
    from storyline.annotate.quotes import find_quotes
    from storyline.annotate.timex import find_timexes

    paths = sorted(str(p) for p in seeds_dir.glob("00[0-4]_*.txt"))
    out: dict[str, list[Forecast]] = {}
    for document in storyline.extract(paths):
        assert isinstance(document, storyline.Document)
        doc = parse(document.text)
        found = find_forecasts(
            doc, quotes=find_quotes(doc),
            timexes=find_timexes(document.text, document.published, doc=doc),
            author=document.authors[0] if document.authors else None,
            published=document.published,
        )
        for forecast in found:
            assert document.text[forecast.start:forecast.end] == forecast.text
        out[Path(document.origin).name[:3]] = found
    return out


def _held(found: list[Forecast], name: str) -> list[Forecast]:
    return [f for f in found if f.holder is not None and name in f.holder]


def test_seed_000_author_voice_forecasts(seed_forecasts: dict[str, list[Forecast]]) -> None:
    found = seed_forecasts["000"]
    bezrukov = _held(found, "Bezrukov")
    assert len(bezrukov) >= 5
    assert all(f.made_on == "2018-07-23" for f in bezrukov)
    # "He is most likely to win it" (twice in the text): likely, in the author's voice.
    short_likely = [f for f in bezrukov if f.confidence == "likely" and len(f.text.split()) <= 8]
    assert len(short_likely) == 2
    # The sentence dated November 6 carries a horizon beginning with its "after" phrase.
    assert any(f.horizon and f.horizon.lower().startswith("after") for f in bezrukov)
    # The title is a question: no forecast from it.
    assert not any(f.text.rstrip().endswith("?") for f in found)


def test_seed_001_kortunov(seed_forecasts: dict[str, list[Forecast]]) -> None:
    found = seed_forecasts["001"]
    kortunov = _held(found, "Kortunov")
    assert len(kortunov) >= 8
    confidences = {f.confidence for f in kortunov}
    assert {"certain", "likely", "possible"} <= confidences
    assert all(f.made_on is None for f in kortunov)  # no publication date in the text


def test_seed_003_suslov_quoted(seed_forecasts: dict[str, list[Forecast]]) -> None:
    suslov = _held(seed_forecasts["003"], "Suslov")
    unlikely = [f for f in suslov if f.confidence == "unlikely"]
    # "I do not expect ..." and "... is unlikely to ...", both inside his quotes.
    assert len(unlikely) == 2
    assert any(f.text.startswith("I do not") for f in unlikely)
    assert any(f.horizon for f in unlikely)
    assert any(f.confidence == "likely" for f in suslov)


def test_seed_004_cui_heng(seed_forecasts: dict[str, list[Forecast]]) -> None:
    cui = _held(seed_forecasts["004"], "Cui Heng")
    assert all(f.made_on == "2017-07-10" for f in cui)
    # "it is not likely that Putin will make concessions": unlikely, not certain.
    assert any(f.confidence == "unlikely" and "Putin" in f.text for f in cui)
    # "Confrontation ... will be chronic": a certain forecast in the author's voice.
    assert any(f.confidence == "certain" and f.text.startswith("Confrontation") for f in cui)
    # The quoted ceasefire announcement with its date is a scheduled fact, not a forecast.
    assert not any("July 9" in f.text for f in seed_forecasts["004"])
