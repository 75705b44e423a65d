"""Story detection on invented coverage: three unrelated stories, three reports each."""

from __future__ import annotations

import random
from dataclasses import replace
from collections import Counter
from collections.abc import Sequence

from storyline.model import Document
from pathlib import Path

import numpy as np

from storyline.story.detect import (
    DetectConfig,
    Features,
    Member,
    StoryDetector,
    Spans,
    StoryProfile,
    Vocabulary,
    _MergeScores,
    _attach_small,
    _root,
    _single,
    _story_spans,
    core_documents,
    day_of,
    detect_stories,
    features_of,
    member_affinity,
    names_in,
    stream_stories,
    story_affinity,
    story_affinity_bound,
    sum_lengths,
)
from storyline.story.neighbours import VectorIndex
from storyline.story.storylines import _sum

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
    features = features_of(documents)
    detector = StoryDetector()
    first = [detector.add(n, features[n]) for n in (0, 3)]
    assert first[0] != first[1]  # a ferry and a concert: two stories
    assert detector.add(1, features[1]) == first[0]  # a second ferry report joins the ferry


def test_a_stream_in_any_order_finds_the_stories_of_the_pile() -> None:
    documents, gold = _pile()
    expected = _groups(detect_stories(documents), gold)
    for seed in range(3):
        order = list(range(len(documents)))
        random.Random(seed).shuffle(order)
        labels = stream_stories([documents[i] for i in order], batch=4)
        assert _groups(labels, [gold[i] for i in order]) == expected


def test_documents_further_apart_than_the_window_are_never_one_story() -> None:
    documents, _ = _pile()
    ferry = documents[:3]
    assert DetectConfig.packaged().window_days < 365
    dated = [replace(d, published=day) for d, day in
             zip(ferry, ("2020-03-01", "2020-03-02", "2021-03-01"))]
    labels = detect_stories(dated)
    assert labels[0] == labels[1] != labels[2]
    assert day_of("2020-03-02T10:00:00Z") == day_of("2020-03-01") + 1 and day_of("in May") is None


def test_a_member_leaves_its_story_exactly_as_it_came() -> None:
    features = features_of(_pile()[0][:3])
    vocabulary = Vocabulary()
    for item in features:
        vocabulary.see(item)
    members = [Member.of(item, vocabulary) for item in features]
    profile = StoryProfile()
    for member in members[:2]:
        profile.add(member)
    before = member_affinity(DetectConfig.packaged(), members[2], profile)
    profile.add(members[2])
    profile.add(members[2], -1)
    assert abs(member_affinity(DetectConfig.packaged(), members[2], profile) - before) < 1e-6
    again = StoryProfile.from_bytes(profile.to_bytes())
    assert again.size == 2 and abs(member_affinity(DetectConfig.packaged(), members[2], again) - before) < 1e-4
    assert Member.from_bytes(members[0].to_bytes()).words.keys() == members[0].words.keys()


def test_a_kept_profile_reads_back_as_held_and_the_first_format_still_reads() -> None:
    features = features_of(_pile()[0][:4])
    vocabulary = Vocabulary.of(features)
    profile = StoryProfile()
    for item in features:
        profile.add(Member.of(item, vocabulary))
    again = StoryProfile.from_bytes(profile.to_bytes())
    assert (again.size, again.words, again.names) == (profile.size, profile.words, profile.names)
    assert list(again.words) == list(profile.words)  # the order too: sums iterate it
    assert again.meaning is not None and profile.meaning is not None
    assert np.array_equal(again.meaning, profile.meaning.astype(np.float32))
    assert (again.first_day, again.last_day) == (profile.first_day, profile.last_day)
    # A store written before the binary format holds JSON profiles: still read, rounded.
    old = StoryProfile.from_bytes(profile._to_json_bytes())
    assert old.words.keys() == profile.words.keys() and old.size == profile.size
    assert max(abs(old.words[k] - v) for k, v in profile.words.items()) <= 5e-6
    # A key the key list cannot hold falls back to the first format, losing nothing.
    odd = StoryProfile(1, {"a\x00b": 0.5}, {}, None, None, None)
    assert StoryProfile.from_bytes(odd.to_bytes()).words == {"a\x00b": 0.5}
    assert StoryProfile.from_bytes(StoryProfile().to_bytes()) == StoryProfile()


def test_the_outlier_of_a_group_is_its_least_typical_member() -> None:
    documents, _ = _pile()
    group = [documents[6], *documents[:3]]  # a drought report among the ferry reports
    assert core_documents(group)[-1] is documents[6]


def test_the_vector_index_survives_saving_and_refuses_junk(tmp_path: Path) -> None:
    vectors = np.eye(4, dtype=np.float32)
    index = VectorIndex(4)
    index.add([2, 5, 9], vectors[:3])
    assert index.nearest(vectors[1], 1)[0][0] == 5
    index.save(tmp_path / "v.usearch")
    loaded = VectorIndex.load(tmp_path / "v.usearch", 4)
    assert loaded is not None and len(loaded) == 3 and loaded.newest == 9
    (tmp_path / "junk.usearch").write_bytes(b"not an index")
    assert VectorIndex.load(tmp_path / "junk.usearch", 4) is None
    assert VectorIndex.load(tmp_path / "missing.usearch", 4) is None


def test_names_are_capitalised_runs_and_years_not_sentence_openers() -> None:
    names = names_in("Wheat farmers met in 2019. Osterdal Council members came. The union said "
                     "Ilse Varga spoke.")
    assert names == Counter({"2019": 1, "osterdal council": 1, "ilse varga": 1})


def test_a_small_story_attaches_at_the_lower_cut_but_two_large_ones_stay_apart() -> None:
    from storyline.story.detect import _attach_small

    config = replace(DetectConfig.packaged(), join=0.5, attach=0.2, small_story=2)
    # Two groups of three (0-2, 3-5) alike at 0.9 within, 0.25 across; 6 a stray near group one.
    similarity = np.full((7, 7), 0.25)
    similarity[:3, :3] = similarity[3:6, 3:6] = 0.9
    similarity[6, :3] = similarity[:3, 6] = 0.3
    similarity[6, 3:6] = similarity[3:6, 6] = 0.1
    labels = [0, 0, 0, 1, 1, 1, 2]
    assert _attach_small(similarity, labels, config) == [0, 0, 0, 1, 1, 1, 0]
    # Below the lower cut the stray stays alone; a story larger than small_story never attaches.
    assert _attach_small(similarity, labels, replace(config, attach=0.35)) == labels
    assert _attach_small(similarity, [0, 0, 0, 1, 1, 1, 1], config) == [0, 0, 0, 1, 1, 1, 1]
    # Node sizes count documents: a node standing for five documents is not small.
    assert _attach_small(similarity, labels, config, sizes=[1, 1, 1, 1, 1, 1, 5]) == labels


def test_undated_documents_never_bridge_two_stories_a_year_apart() -> None:
    from storyline.story.detect import Spans, _attach_small, average_link

    # 0 dated day 0, 1 dated day 365, 2 and 3 undated and alike to both dated ones.
    similarity = np.array([[1.0, 0.0, 0.9, 0.8],
                           [0.0, 1.0, 0.8, 0.9],
                           [0.9, 0.8, 1.0, 0.9],
                           [0.8, 0.9, 0.9, 1.0]])
    assert len(set(average_link(similarity, 0.3))) == 1  # without time the average bridges them
    spans = Spans.of([0, 365, None, None], [0, 365, None, None], 45)
    labels = average_link(similarity, 0.3, spans=spans.copy())
    assert labels[0] != labels[1] and set(labels[2:]) <= {labels[0], labels[1]}
    config = replace(DetectConfig.packaged(), attach=0.1, small_story=3)
    attached = _attach_small(similarity, labels, config, spans=spans)
    assert attached[0] != attached[1]


def test_a_day_inside_the_window_still_joins_through_undated_documents() -> None:
    from storyline.story.detect import Spans, average_link

    similarity = np.array([[1.0, 0.0, 0.9], [0.0, 1.0, 0.9], [0.9, 0.9, 1.0]])
    spans = Spans.of([0, 30, None], [0, 30, None], 45)
    assert len(set(average_link(similarity, 0.3, spans=spans))) == 1


def test_a_pruned_profile_keeps_the_heaviest_words_ties_broken_by_the_word() -> None:
    # Pruning sorts only what reaches the kept count's last weight; the answer must be the
    # full sort's, ties included (several words share the cut weight here).
    rng = random.Random(3)
    values = [0.3 + 0.7 * rng.random() for _ in range(600)] + [0.25] * 1000 + [0.2 * rng.random()
                                                                           for _ in range(1400)]
    names = [f"w{k:04d}" for k in range(3000)]
    rng.shuffle(names)
    weights = dict(zip(names, values))
    profile = StoryProfile(3, weights, {"Ona": 1.0, "Bram": 1.0, "Cato": 2.0}, None, None, None)
    pruned = profile.pruned(1000)
    expected = sorted(weights.items(), key=lambda item: (-item[1], item[0]))[:1000]
    assert list(pruned.words.items()) == expected
    assert sum(1 for _, value in expected if value == expected[-1][1]) > 1  # a tie at the cut
    assert list(profile.pruned(2).names.items()) == [("Cato", 2.0), ("Bram", 1.0)]
    assert profile.pruned(5).names == profile.names and len(profile.words) == 3000


def _attach_small_recomputed(similarity: np.ndarray, labels: list[int], config: DetectConfig,
                             sizes: list[int], spans: Spans) -> list[int]:
    """``_attach_small`` as it was first written: every pair's average and eligibility worked
    out again after each join (the plain statement of the rule the kept matrix must follow)."""
    weight = np.asarray(sizes, dtype=np.float64)
    count = max(labels) + 1
    onehot = np.zeros((len(labels), count))
    onehot[np.arange(len(labels)), labels] = weight
    sums = onehot.T @ similarity @ onehot
    size = onehot.sum(axis=0)
    stories = _story_spans(spans, labels, count)
    assert stories is not None
    alive = np.ones(count, dtype=bool)
    parent = list(range(count))
    while True:
        average = sums / np.outer(size, size)
        eligible = (alive[:, None] & alive[None, :] & (size[:, None] <= config.small_story)
                    & (size[None, :] >= size[:, None])) & ~stories.apart()
        np.fill_diagonal(eligible, False)
        average[~eligible] = -np.inf
        small, large = divmod(int(np.argmax(average)), count)
        if average[small, large] < config.attach:
            break
        sums[large, :] += sums[small, :]
        sums[:, large] += sums[:, small]
        size[large] += size[small]
        alive[small] = False
        parent[small] = large
        stories.join(large, small)
    first: dict[int, int] = {}
    return [first.setdefault(_root(parent, label), len(first)) for label in labels]


def test_small_stories_attach_as_when_every_average_is_worked_out_again() -> None:
    config = replace(DetectConfig.packaged(), attach=0.12, small_story=4)
    chooser = np.random.default_rng(3)
    joins = 0
    for _ in range(40):
        nodes = int(chooser.integers(20, 70))
        raw = chooser.random((nodes, nodes)) * 0.4
        similarity = (raw + raw.T) / 2
        labels = [int(x) for x in chooser.integers(0, nodes // 2, nodes)]
        labels = [sorted(set(labels)).index(label) for label in labels]  # 0 .. n-1, all used
        sizes = [int(x) for x in chooser.integers(1, 4, nodes)]
        days = [None if chooser.random() < 0.2 else int(chooser.integers(0, 200)) for _ in range(nodes)]
        spans = Spans.of(days, days, config.window_days)
        expected = _attach_small_recomputed(similarity, labels, config, sizes, spans.copy())
        assert _attach_small(similarity, labels, config, sizes, spans.copy()) == expected
        joins += len(set(labels)) - len(set(expected))
    assert joins > 100  # the piles did attach stories, many times over


def _invented_stream(count: int, seed: int, words_per_story: int = 30) -> list[Features]:
    """Features of ``count`` documents of a few dozen invented stories, in a shuffled stream:
    each story has its words (``words_per_story``: the more, the less its documents share),
    names, a direction of meaning and a day; its documents draw from them with noise (so
    stories grow, merge and split as the window moves)."""
    rng = random.Random(seed)
    noise = np.random.default_rng(seed)
    stories = []
    for k in range(40):
        centre = noise.normal(size=16).astype(np.float32)
        stories.append(([f"w{rng.randrange(300)}" for _ in range(words_per_story)], [f"n{k % 25} {j}" for j in range(3)],
                        centre / np.linalg.norm(centre), rng.randrange(200)))
    out = []
    for _ in range(count):
        words, names, centre, day = stories[rng.randrange(len(stories))]
        vector = centre + noise.normal(0.0, 0.3, 16).astype(np.float32)
        out.append(Features(Counter(rng.sample(words, 12) + [f"w{rng.randrange(300)}"]),
                            Counter(rng.sample(names, 2)), vector / np.linalg.norm(vector),
                            None if rng.random() < 0.1 else day + rng.randrange(20)))
    return out


class _CopyingDetector(StoryDetector):
    """The window's re-clustering as first written: each story's remainder worked out on a
    copy of its profile summed into an empty one (the held profile left as it was).
    ``remainders``: how many stories had documents older than the window, over the stream."""

    remainders = 0

    def _remainders(self, stories: Sequence[int], numbers: Sequence[int]) -> dict[int, StoryProfile]:
        left = {}
        for story in stories:
            if story in self.profiles:
                left[story] = StoryProfile()
                left[story].absorb(self.profiles[story])
        for number in numbers:
            story = self.alive(self.story_of[number])
            if story in left:
                left[story].add(self.members[number], -1)
        found = {s: p for s, p in left.items() if p.size > 0}
        self.remainders += len(found)
        return found


def _same_profile(a: StoryProfile, b: StoryProfile) -> bool:
    assert a.meaning is not None and b.meaning is not None
    return (a.size, a.words, a.names, a.first_day, a.last_day) == (b.size, b.words, b.names, b.first_day, b.last_day) \
        and bool(np.array_equal(a.meaning, b.meaning))


def _file_side_by_side(one: StoryDetector, other: StoryDetector, features: Sequence[Features],
                       batch: int = 20) -> None:
    """Add the same batches to both detectors; after each, the same stories, merges and
    profiles."""
    for start in range(0, len(features), batch):
        for detector in (one, other):
            for number in range(start, start + batch):
                detector.add(number, features[number])
            detector.settle()
        assert one.labels(range(start + batch)) == other.labels(range(start + batch))
        assert one.merged == other.merged and one.profiles.keys() == other.profiles.keys()
        assert all(_same_profile(one.profiles[s], other.profiles[s]) for s in one.profiles)


def test_the_window_re_clustering_sums_as_when_each_remainder_is_a_fresh_copy() -> None:
    config = replace(DetectConfig.packaged(), window_documents=40)
    features = _invented_stream(400, seed=5)
    kept, copying = StoryDetector(config), _CopyingDetector(config)
    _file_side_by_side(kept, copying, features)
    assert len(kept.merged) > 5 and copying.remainders > 100  # stories merged, and outgrew the window
    for story, profile in kept.profiles.items():  # and each is the sum of its documents
        summed = StoryProfile()
        for number in (n for n in kept.members if kept.alive(kept.story_of[n]) == story):
            summed.add(kept.members[number])
        assert summed.size == profile.size and summed.words.keys() <= profile.words.keys()
        assert all(abs(profile.words[w] - summed.words.get(w, 0.0)) < 1e-9 for w in profile.words)


def test_a_single_and_a_sum_from_a_copy_are_the_sums_from_an_empty_profile() -> None:
    features = _invented_stream(30, seed=2)
    vocabulary = Vocabulary.of(features)
    members = [Member.of(item, vocabulary) for item in features]
    added = StoryProfile()
    added.add(members[0])
    assert _same_profile(_single(members[0]), added)
    parts = [_single(m) for m in members[:3]] + [StoryProfile.from_bytes(_single(members[3]).to_bytes())]
    parts[3].words["w-negative-zero"] = -0.0  # as a stored residue rounds
    empty = StoryProfile()
    for part in parts:
        empty.absorb(part)
    assert _same_profile(_sum(parts), empty) and _sum([]).size == 0


def test_a_long_story_and_a_short_one_inside_its_span_are_not_apart() -> None:
    """Two stories are apart only when one's span ends more than the window before the other's
    begins: a story running a year holds a week's story in the middle of it, although both of
    its ends lie far from that week (as the pile's clustering decides with ``Spans``)."""
    config = DetectConfig.packaged()
    window = config.window_days
    words = {"reservoir": 0.8, "sluice": 0.6}
    long = StoryProfile(4, dict(words), {}, None, 0, 12 * window)
    inside = StoryProfile(2, dict(words), {}, None, 6 * window, 6 * window + 3)
    later = StoryProfile(2, dict(words), {}, None, 13 * window + 1, 13 * window + 2)
    earlier = StoryProfile(2, dict(words), {}, None, -2 * window, -window - 1)
    assert story_affinity(config, long, inside) > 0 and story_affinity(config, inside, long) > 0
    assert story_affinity(config, long, later) == story_affinity(config, later, long) == 0.0
    assert story_affinity(config, long, earlier) == story_affinity(config, earlier, long) == 0.0
    spans = Spans.of([0, 6 * window, 13 * window + 1, -2 * window],
                     [12 * window, 6 * window + 3, 13 * window + 2, -window - 1], window)
    assert spans.apart()[0].tolist() == [False, False, True, True]


class _UnboundedDetector(StoryDetector):
    """The merge pass working out every pair's average, none skipped by its bound."""

    def _pair_score(self, first: int, second: int, known: object) -> float:
        return story_affinity(self.config, self.profiles[first], self.profiles[second])


class _CountingDetector(StoryDetector):
    """The packaged merge pass, counting the pairs it skipped by their bound."""

    skipped = 0
    scored = 0

    def _pair_score(self, first: int, second: int, known: object) -> float:
        score = super()._pair_score(first, second, known)  # type: ignore[arg-type]
        self.scored += 1
        self.skipped += score == float("-inf")
        return score


def test_the_bound_of_two_stories_average_is_never_below_it() -> None:
    config = DetectConfig.packaged()
    features = _invented_stream(240, seed=11)
    vocabulary = Vocabulary.of(features)
    members = [Member.of(item, vocabulary) for item in features]
    rng = random.Random(3)
    for _ in range(300):
        a, b = StoryProfile(), StoryProfile()
        for profile in (a, b):
            for member in rng.sample(members, rng.randrange(1, 30)):
                profile.add(member)
        bound = story_affinity_bound(config, a, b, (sum_lengths(a), sum_lengths(b)))
        assert story_affinity(config, a, b) <= bound + 1e-12
    assert story_affinity_bound(config, StoryProfile(), a, ((0.0, 0.0), sum_lengths(a))) == float("inf")
    # Two one-document stories of the same document average exactly their bound: at a cut of
    # that average the pair is scored, not skipped.
    same = _single(members[0]), _single(members[0])
    exact = story_affinity(config, *same)
    for cut, expected in ((exact, exact), (exact * 1.01, float("-inf"))):
        detector = StoryDetector(replace(config, attach=cut))
        detector.profiles = dict(enumerate(same))
        assert detector._pair_score(0, 1, _MergeScores()) == expected


def test_skipping_pairs_by_their_bound_merges_as_working_out_every_pair() -> None:
    config = replace(DetectConfig.packaged(), window_documents=40)
    features = _invented_stream(600, seed=7, words_per_story=120)  # long stories, loosely worded
    bounded, every = _CountingDetector(config), _UnboundedDetector(config)
    _file_side_by_side(bounded, every, features)
    assert len(every.merged) > 5  # the pass merged stories, and skipped pairs on the way
    assert 0 < bounded.skipped < bounded.scored


def test_a_batch_keeps_again_only_the_documents_it_filed_or_moved() -> None:
    """The window's documents are weighed again after each batch, but one that stayed in its
    story is not written again (``dirty``: what the store's update holds)."""
    config = replace(DetectConfig.packaged(), window_documents=40)
    features = _invented_stream(300, seed=4)
    # As a store that has seen twice as many: no batch doubles what it knows, so none is
    # weighed again as a whole (which rewrites every document, rightly).
    detector = StoryDetector(config, vocabulary=Vocabulary.of(features + features))
    spared = 0
    for start in range(0, len(features), 20):
        before = {n: detector.alive(s) for n, s in detector.story_of.items()}
        batch = set(range(start, start + 20))
        for number in sorted(batch):
            detector.add(number, features[number])
        detector.settle()
        moved = {n for n, story in before.items() if detector.alive(detector.story_of[n]) != story}
        assert batch <= detector.dirty <= batch | moved
        window = set(range(max(0, start - 20), start + 20))  # its 40 latest documents
        spared += len(window - detector.dirty)
        detector.saved({})
    assert spared > 100
