"""Story detection on invented coverage: three unrelated stories, three reports each."""

from __future__ import annotations

import random
from collections import Counter

from storyline.model import Document
from storyline.story.detect import StoryDetector, detect_stories, names_in

STORIES = {
    "ferry": [
        ("Night ferry to Skarholm halted",
         "The harbour authority in Veldhaven halted the night ferry to Skarholm on Monday after "
         "inspectors found cracks in both engines. Passengers will travel by bus until the ferry "
         "returns, the authority said, and repairs should take two weeks."),
        ("Skarholm ferry off for engine repairs",
         "Engine cracks have taken the Skarholm night ferry out of service, Veldhaven's harbour "
         "authority announced. A replacement bus runs every evening while the ferry's engines "
         "are rebuilt at the Veldhaven yard."),
        ("Bus replaces Veldhaven ferry",
         "Travellers to Skarholm boarded buses instead of the night ferry on Tuesday. The "
         "Veldhaven harbour authority expects the ferry back once both cracked engines pass a "
         "second inspection."),
    ],
    "orchestra": [
        ("Town orchestra premieres choir piece",
         "The Brennmoor town orchestra gave its spring concert in the old grain hall on Saturday, "
         "premiering a piece by local composer Ilse Varga with a choir of forty schoolchildren."),
        ("Ilse Varga's new work fills grain hall",
         "A full grain hall heard Ilse Varga's new choral work, sung by forty Brennmoor "
         "schoolchildren with the town orchestra, at the spring concert on Saturday night."),
        ("Brennmoor choir and orchestra win applause",
         "Forty schoolchildren and the Brennmoor orchestra earned a standing ovation for the "
         "premiere of a choral piece by Ilse Varga at the grain hall concert."),
    ],
    "drought": [
        ("Farmers in Osterdal ask for drought aid",
         "Wheat farmers in the Osterdal valley asked the regional council for emergency aid after "
         "a third month without rain shrank their harvest by half, the farmers' union said."),
        ("Osterdal council weighs drought relief",
         "The Osterdal regional council will vote on drought relief for wheat growers whose "
         "harvest halved after three dry months, according to the farmers' union."),
        ("Dry months halve Osterdal wheat",
         "Three rainless months have cut the Osterdal wheat harvest in half. The farmers' union "
         "wants emergency aid from the regional council before the autumn sowing."),
    ],
}


def _pile() -> tuple[list[Document], list[str]]:
    documents, gold = [], []
    for story, reports in STORIES.items():
        for number, (title, text) in enumerate(reports):
            documents.append(Document(origin=f"{story}-{number}.txt", title=title, text=text))
            gold.append(story)
    return documents, gold


def _groups(labels: list[int], gold: list[str]) -> set[frozenset[str]]:
    """The predicted stories as sets of gold names (one name per set when all is well)."""
    members: dict[int, Counter[str]] = {}
    for label, name in zip(labels, gold):
        members.setdefault(label, Counter())[name] += 1
    return {frozenset(counts) for counts in members.values()}


def test_three_unrelated_stories_are_told_apart() -> None:
    documents, gold = _pile()
    labels = detect_stories(documents)
    assert len(set(labels)) == 3
    assert _groups(labels, gold) == {frozenset({name}) for name in STORIES}


def test_any_order_gives_the_same_stories() -> None:
    documents, gold = _pile()
    expected = _groups(detect_stories(documents), gold)
    for seed in range(3):
        order = list(range(len(documents)))
        random.Random(seed).shuffle(order)
        labels = detect_stories([documents[i] for i in order])
        assert _groups(labels, [gold[i] for i in order]) == expected


def test_labels_are_numbered_by_first_appearance_and_repeatable() -> None:
    documents, _ = _pile()
    labels = detect_stories(documents)
    assert labels[0] == 0 and labels == detect_stories(documents)
    assert [label for i, label in enumerate(labels) if label not in labels[:i]] == sorted(set(labels))


def test_online_adds_join_the_story_they_belong_to() -> None:
    documents, _ = _pile()
    detector = StoryDetector()
    first = [detector.add(document) for document in documents[:1] + documents[3:4]]
    assert first == [0, 1]
    assert detector.add(documents[1]) == 0  # a second ferry report joins the ferry story


def test_names_are_capitalised_runs_and_years_not_sentence_openers() -> None:
    names = names_in("Wheat farmers met in 2019. Osterdal Council members came. The union said "
                     "Ilse Varga spoke.")
    assert names == Counter({"2019": 1, "osterdal council": 1, "ilse varga": 1})
