"""storyline.annotate.timex: recognition and TimeML normalisation of temporal expressions.

Every sentence here is invented for these tests. DCT 2017-07-07 is a Friday.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

import pytest

from storyline.annotate.timex import find_timexes, resolve_date
from storyline.model import Timex

DCT = "2017-07-07"
REPO = Path(__file__).resolve().parents[1]


def _found(text: str, dct: str | None = DCT) -> dict[str, tuple[str, str]]:
    """{timex text: (type, value)}, after checking every offset."""
    timexes = find_timexes(text, dct)
    for t in timexes:
        assert text[t.start : t.end] == t.text
    return {t.text: (t.type, t.value) for t in timexes}


@pytest.mark.parametrize(
    ("text", "dct", "expression", "kind", "value"),
    [
        ("The mayor resigned on Friday after a long row.", DCT, "Friday", "DATE", "2017-07-07"),
        ("The mayor met the unions on Tuesday.", DCT, "Tuesday", "DATE", "2017-07-04"),
        ("The mayor will meet the unions on Tuesday.", DCT, "Tuesday", "DATE", "2017-07-11"),
        ("The new ferry will sail on Sunday (July 9) from the old pier.", DCT, "Sunday", "DATE", "2017-07-09"),
        ("The new ferry will sail on Sunday (July 9) from the old pier.", DCT, "July 9", "DATE", "2017-07-09"),
        ("Tickets go on sale on Sunday, July 9.", DCT, "Sunday, July 9", "DATE", "2017-07-09"),
        ("The harbour froze in late December for the first time.", DCT, "late December", "DATE", "2016-12"),
        ("The regatta will be held in April, organisers said.", "2017-01-10", "April", "DATE", "2017-04"),
        ("The club hopes to expand next year.", DCT, "next year", "DATE", "2018"),
        ("Rents rose sharply last week.", "2013-03-22", "last week", "DATE", "2013-W11"),
        ("Painters were busy this week at the depot.", "2013-03-22", "this week", "DATE", "2013-W12"),
        ("The three-year-old war has emptied the valley.", DCT, "three-year-old", "DURATION", "P3Y"),
        ("The hearing lasted two hours.", DCT, "two hours", "DURATION", "PT2H"),
        ("The fair returns every year.", DCT, "every year", "SET", "P1Y"),
        ("Posted 2017/7/10 18:53:40 by the desk.", DCT, "2017/7/10 18:53:40", "TIME", "2017-07-10T18:53:40"),
        ("Turnout in the 2016 election was low.", DCT, "2016", "DATE", "2016"),
        ("The orchard flowered early in spring.", "2018-05-02", "spring", "DATE", "2018-SP"),
        ("Canal traffic doubled over the past decade.", DCT, "the past decade", "DURATION", "P10Y"),
        ("Grain prices are now falling.", DCT, "now", "DATE", "PRESENT_REF"),
        ("The library is currently closed.", DCT, "currently", "DATE", "PRESENT_REF"),
        ("The lighthouse was recently repainted.", DCT, "recently", "DATE", "PAST_REF"),
        ("Repairs took a year and a half.", DCT, "a year and a half", "DURATION", "P18M"),
        ("The tunnel should open by the end of next year.", DCT, "the end of next year", "DATE", "2018"),
        ("The bells ring at midday.", DCT, "midday", "TIME", "2017-07-07TMI"),
        ("Fire crews were called out on Thursday night.", DCT, "Thursday night", "TIME", "2017-07-06TNI"),
        ("Sales fell in the third quarter of 2016.", DCT, "the third quarter of 2016", "DATE", "2016-Q3"),
        ("Sales rose in Q1 2015.", DCT, "Q1 2015", "DATE", "2015-Q1"),
        ("Vinyl was cheap in the 1990s.", DCT, "the 1990s", "DATE", "199"),
        ("Losses narrowed in fiscal 2016.", DCT, "fiscal 2016", "DATE", "2016"),
        ("The port must save money this fiscal year.", DCT, "this fiscal year", "DATE", "2017"),
        ("The canal was dug in the 19th century.", DCT, "the 19th century", "DATE", "18"),
        ("The old mill closed three years ago.", DCT, "three years ago", "DATE", "2014"),
        ("The strike ended in March 2016.", DCT, "March 2016", "DATE", "2016-03"),
        ("The count ended on July 10, 2016.", DCT, "July 10, 2016", "DATE", "2016-07-10"),
        ("The count ended on 10 July 2016.", DCT, "10 July 2016", "DATE", "2016-07-10"),
        ("The ferry leaves at 3 p.m. tomorrow.", DCT, "3 p.m.", "TIME", "2017-07-08T15:00"),
        ("The ferry left yesterday.", DCT, "yesterday", "DATE", "2017-07-06"),
        ("The market opens daily.", DCT, "daily", "SET", "P1D"),
        ("The choir rehearses twice a week.", DCT, "twice a week", "SET", "P1W"),
        ("The choir rehearses every Monday.", DCT, "every Monday", "SET", "XXXX-WXX-1"),
        ("The dam was finished in mid-2015.", DCT, "mid-2015", "DATE", "2015"),
        ("The vote was held at the end of March.", DCT, "the end of March", "DATE", "2017-03"),
        ("The town was founded in 1848.", DCT, "1848", "DATE", "1848"),
        ("Harvests failed last summer.", DCT, "last summer", "DATE", "2016-SU"),
        ("Nobody has repaired it for several months.", DCT, "several months", "DURATION", "PXM"),
        ("Trains run 40 minutes late.", DCT, "40 minutes", "DURATION", "PT40M"),
    ],
)
def test_examples(text: str, dct: str, expression: str, kind: str, value: str) -> None:
    found = _found(text, dct)
    assert expression in found, found
    assert found[expression] == (kind, value)


def test_ranges_give_two_timexes() -> None:
    found = _found("Museum staff expect the loan to last 12 to 18 months; the survey ran 2009-2010 and 1957-58.")
    assert found["12"] == ("DURATION", "P12M")
    assert found["18 months"] == ("DURATION", "P18M")
    assert found["2010"] == ("DATE", "2010")
    assert found["58"] == ("DATE", "1958")


def test_exact_offsets_and_order() -> None:
    text = "On Friday\tthe board met; in  late December it had met twice a week.\n\nSince 2014, rents rose."
    timexes = find_timexes(text, DCT)
    assert [t.text for t in timexes] == ["Friday", "late December", "twice a week", "2014"]
    for t in timexes:
        assert isinstance(t, Timex)
        assert text[t.start : t.end] == t.text
    assert [t.start for t in timexes] == sorted(t.start for t in timexes)


def test_no_dct_keeps_absolute_values_and_marks_relative_ones() -> None:
    text = ("The bakery opened on July 9, 2016 and closed in 2019. It reopened on Friday, "
            "will expand next year, and was busy last week. The queue lasted two hours. It is busy now.")
    found = _found(text, None)
    assert found["July 9, 2016"] == ("DATE", "2016-07-09")
    assert found["2019"] == ("DATE", "2019")
    assert found["Friday"] == ("DATE", "XXXX-WXX-5")
    assert found["next year"] == ("DATE", "FUTURE_REF")
    assert found["last week"] == ("DATE", "PAST_REF")
    assert found["two hours"] == ("DURATION", "PT2H")
    assert found["now"] == ("DATE", "PRESENT_REF")
    assert _found("The fair is held on July 9.", None)["July 9"] == ("DATE", "XXXX-07-09")


def test_empty_and_timeless_text() -> None:
    assert find_timexes("", DCT) == []
    assert find_timexes("", None) == []
    assert find_timexes("The cat sat on the mat and purred.", DCT) == []


def test_words_that_only_look_temporal() -> None:
    found = _found("She may sign. Theresa May spoke. Protesters march in the square. "
                   "Members of the Arab Spring movement met. The firm sold 2000 tractors for $2015. "
                   "Children aged 6 months and older were seen.")
    assert found == {}


def test_spacy_doc_tense_decides_bare_weekdays() -> None:
    from storyline.annotate.nlp import parse

    text = "The council voted on Monday. The council will vote again on Monday."
    timexes = find_timexes(text, "2017-07-05", doc=parse(text))  # a Wednesday
    assert [(t.text, t.value) for t in timexes] == [("Monday", "2017-07-03"), ("Monday", "2017-07-10")]


def test_spacy_doc_tells_may_the_month_from_may_the_verb() -> None:
    from storyline.annotate.nlp import parse

    text = "The works may finish in May."
    found = [(t.text, t.value) for t in find_timexes(text, DCT, doc=parse(text))]
    assert found == [("May", "2018-05")]


def test_two_megabyte_text_finishes() -> None:
    paragraph = ("The harbour board said on Friday that the 2016 levy would rise 5% every year after "
                 "two hours of debate in late December; talks resume next week at 3 p.m. ")
    text = (paragraph * (2_000_000 // len(paragraph) + 1))[:2_000_000]
    started = time.perf_counter()
    timexes = find_timexes(text, DCT)
    assert time.perf_counter() - started < 120
    assert len(timexes) > 10_000
    assert all(text[t.start : t.end] == t.text for t in timexes[:200] + timexes[-200:])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2017-07-09", ("2017-07-09", "day")),
        ("2017-07-06TNI", ("2017-07-06", "day")),
        ("2017-07-10T18:53:40", ("2017-07-10", "day")),
        ("2016-12", ("2016-12", "month")),
        ("2013-W11", ("2013-03", "month")),
        ("2016", ("2016", "year")),
        ("2016-Q3", ("2016", "year")),
        ("2018-SP", ("2018", "year")),
        ("199", None),
        ("P3Y", None),
        ("PRESENT_REF", None),
        ("XXXX-WXX-5", None),
        ("2017-02-30", None),
    ],
)
def test_resolve_date(value: str, expected: tuple[str, str] | None) -> None:
    assert resolve_date(value) == expected


@pytest.mark.slow
def test_benchmark_value_f1_stays_above_floor(eval_data_dir: Path) -> None:
    """The TE3 dev-half value F1 must not fall below the floor pinned in benchmarks/floors.json."""
    import json

    data = eval_data_dir / "timex" / "te3_platinum_timex.jsonl"
    assert data.is_file(), f"missing {data}"
    spec = importlib.util.spec_from_file_location("bench_timex", REPO / "benchmarks" / "timex.py")
    assert spec is not None and spec.loader is not None
    sys.path.insert(0, str(REPO / "benchmarks"))
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench  # dataclasses look their module up while it loads
    spec.loader.exec_module(bench)
    figures, _misses, _rate = bench.run_system(bench.ours, bench.load_docs(eval_data_dir, None))
    floor = json.loads((REPO / "benchmarks" / "floors.json").read_text("utf-8"))["timex"][bench.OURS]
    assert figures["value_f1"] >= floor["value_f1"], figures
    assert figures["relaxed_f1"] >= floor["relaxed_f1"], figures
