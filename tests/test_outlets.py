"""The outlet registry: packaged data, the user's outlets in a real SQLite file and a PostgreSQL database (``conftest.db_url``), lookups, the
``storyline outlets`` commands, and the countries and ownership documents get from it."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from storyline.annotate.annotator import annotate
from storyline.cli import main
from storyline.errors import InputProblem
from storyline.model import Document, Hints, Source
from storyline.outlets import (
    Outlet,
    Registry,
    enrich,
    make_outlet,
    outlets_named_in,
    ownership_types,
    packaged_outlets,
    packaged_registry,
    read_outlets_file,
    registry_with,
)
from storyline.pipeline.documents import extract, extract_one, ingest
from storyline.pipeline.registry import registry_of
from storyline.pipeline.stories import brief
from storyline.read.metadata import canonical_outlet
from storyline.resources import read_data
from storyline.store import open_store
from tests.conftest import REPO, is_postgres, seed_path

EXAMPLE_OUTLETS = REPO / "examples" / "outlets.json"
EXAMPLE_CORPUS = REPO / "examples" / "corpus"
# examples/README.md, "Files": each example outlet's country and ownership.
EXAMPLE_FACTS = {
    "The Aldmark Courier": ("Aldmark", "private"),
    "VNB — Vesterian National Broadcaster": ("Vesteria", "state-affiliated"),
    "The Corvenia Ledger": ("Corvenia", "private"),
    "Orla Basin Policy Institute": ("Aldmark", "think tank"),
    "Meridian Review": ("International", "private"),
    "Corvenian Press Agency": ("Corvenia", "public"),
}
# An invented outlet at an invented domain, for the user's own entries.
HARBOUR = make_outlet("Harbour Times", domains=["harbourtimes.example"], aliases=["HT Daily"],
                      country="Aldmark", ownership="private")
HARBOUR_ARTICLE = (
    "The harbour council voted on Monday to open a ferry line between the old town pier and the "
    "island of Kessel, ending two years of debate about the cost of the service.\n\n"
    "Council members said the boats would run every forty minutes in summer and every hour in "
    "winter, and that tickets would cost the same as a city bus fare."
)


def _user_registry(*outlets: Outlet) -> Registry:
    return Registry(packaged_outlets(), outlets)


def _example_registry() -> Registry:
    outlets, problems = read_outlets_file(EXAMPLE_OUTLETS)
    assert not problems
    return _user_registry(*outlets)


# --- the packaged data ---------------------------------------------------------------------------


def test_packaged_entries_are_complete_and_use_the_vocabulary() -> None:
    vocabulary = ownership_types()
    assert {"state-affiliated", "public", "private", "think tank", "wire"} <= set(vocabulary)
    for row in read_data("outlets.json")["outlets"]:
        assert set(row) == {"name", "domains", "aliases", "country", "ownership"}, row["name"]
        assert re.fullmatch(r"[A-Z]{2}", row["country"]), row["name"]
        assert row["ownership"] in vocabulary, row["name"]
        assert row["domains"], row["name"]


def test_no_domain_or_name_belongs_to_two_packaged_outlets() -> None:
    owners: dict[str, str] = {}
    for outlet in packaged_outlets():
        keys = [f"domain {d}" for d in outlet.domains]
        keys += [f"name {n}" for n in {re.sub(r"^the ", "", n.casefold()) for n in outlet.names()}]
        for key in keys:
            assert owners.setdefault(key, outlet.name) == outlet.name, (key, owners[key], outlet.name)


def test_packaged_list_covers_the_regions_and_kinds_analysts_meet() -> None:
    outlets = packaged_outlets()
    countries = Counter(o.country for o in outlets)
    for country in ("US", "GB", "DE", "FR", "RU", "CN", "IN", "JP", "KR", "IR", "IL", "SA", "QA",
                    "TR", "ZA", "NG", "KE", "BR", "AR", "MX", "UA", "AU", "CA"):
        assert countries[country] >= 1, country
    assert len(outlets) >= 300
    kinds = Counter(o.ownership for o in outlets)
    assert kinds["state-affiliated"] >= 30 and kinds["think tank"] >= 25 and kinds["wire"] >= 8


def test_every_ownership_type_is_documented() -> None:
    cli_doc = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    for kind in ownership_types():
        assert f"`{kind}`" in cli_doc, kind


# --- lookups -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("https://www.bbc.co.uk/news/world-123", "BBC News"),
    ("edition.cnn.com", "CNN"),
    ("WWW.NYTIMES.COM", "The New York Times"),
    ("en.yna.co.kr", "Yonhap"),
    ("https://english.kyodonews.net/news/x", "Kyodo News"),
])
def test_by_domain_matches_hosts_urls_and_subdomains(text: str, expected: str) -> None:
    found = packaged_registry().by_domain(text)
    assert found is not None and found.name == expected


@pytest.mark.parametrize("text", ["co.uk", "com", "example.co.uk", "", "not a host", None])
def test_by_domain_never_matches_a_bare_suffix_or_junk(text: str | None) -> None:
    assert packaged_registry().by_domain(text) is None


@pytest.mark.parametrize(("name", "expected"), [
    ("washington post", "The Washington Post"),
    ("THE GUARDIAN", "The Guardian"),
    ("RIAC", "Russian International Affairs Council"),
    ("Xinhua News Agency", "Xinhua"),
    ("  The   Moscow Times ", "The Moscow Times"),
])
def test_by_name_ignores_case_spacing_and_the(name: str, expected: str) -> None:
    found = packaged_registry().by_name(name)
    assert found is not None and found.name == expected


def test_find_takes_a_name_or_a_domain() -> None:
    registry = packaged_registry()
    assert registry.find("valdaiclub.com").name == "Valdai Club"  # type: ignore[union-attr]
    assert registry.find("Valdai Discussion Club").name == "Valdai Club"  # type: ignore[union-attr]
    assert registry.find("Unknown Gazette") is None and registry.find("unknown.example") is None


def test_a_dashed_name_answers_to_each_part() -> None:
    registry = _example_registry()
    assert registry.by_name("VNB").name == "VNB — Vesterian National Broadcaster"  # type: ignore[union-attr]
    assert registry.by_name("Vesterian National Broadcaster") is registry.by_name("VNB")


def test_make_outlet_tidies_and_checks_its_fields() -> None:
    outlet = make_outlet("  The  Example   Post ", domains=["https://WWW.Example-Post.com/news",
                         "example-post.com"], aliases=["Example Post", "EP"], country="gb")
    assert outlet.name == "The Example Post"
    assert outlet.domains == ("example-post.com",)
    assert outlet.aliases == ("EP",)  # an alias that only repeats the name is dropped
    assert outlet.country == "GB" and outlet.ownership is None
    with pytest.raises(InputProblem, match="name"):
        make_outlet("  ")
    with pytest.raises(InputProblem, match="not a domain"):
        make_outlet("X", domains=["not a domain"])
    with pytest.raises(InputProblem, match="unknown ownership 'cult'"):
        make_outlet("X", ownership="cult")
    with pytest.raises(InputProblem, match="unknown field"):
        Outlet.from_dict({"name": "X", "contry": "RU"})


# --- the user's outlets take precedence ---------------------------------------------------------


def test_a_user_outlet_replaces_the_packaged_one_of_that_name() -> None:
    meduza = make_outlet("Meduza", domains=["meduza.io"], country="RU", ownership="private")
    bbc = make_outlet("BBC", domains=["bbc.co.uk"], country="GB", ownership="private")
    registry = _user_registry(meduza, bbc)
    assert registry.by_name("meduza").country == "RU"  # type: ignore[union-attr]
    assert registry.by_domain("meduza.io") is meduza
    # "BBC" was an alias of the packaged "BBC News": that entry is gone, domains and all.
    assert registry.by_name("BBC News") is None
    assert registry.by_domain("bbc.co.uk") is bbc and registry.by_domain("bbc.com") is None
    assert registry.is_user(bbc) and not registry.is_user(registry.by_name("CNN"))  # type: ignore[arg-type]
    assert len(registry) == len(packaged_outlets()) - 2 + 2


def test_a_user_domain_wins_over_a_packaged_outlet_at_that_domain() -> None:
    mirror = make_outlet("Independent Mirror", domains=["politico.eu"], country="BE")
    registry = _user_registry(mirror)
    assert registry.by_domain("www.politico.eu") is mirror
    assert registry.by_domain("politico.com").name == "Politico"  # type: ignore[union-attr]


def test_store_keeps_user_outlets_and_they_win(db_url: str) -> None:
    db = db_url
    with open_store(db) as store:
        assert registry_of(store) is packaged_registry()  # no outlets of its own yet
        store.add_outlet(make_outlet("Meduza", domains=["meduza.io"], country="RU", ownership="private"))
        store.add_outlet(HARBOUR)
        store.add_outlet(make_outlet("MEDUZA", domains=["meduza.io"], country="LV", ownership="private"))
    with open_store(db if is_postgres(db) else f"sqlite:///{db}") as store:  # a fresh connection
        assert [o.name for o in store.outlets()] == ["MEDUZA", "Harbour Times"]  # replaced in place
        assert store.outlets()[1] == HARBOUR  # aliases kept
        registry = registry_of(store)
        assert registry.by_name("meduza").country == "LV"  # type: ignore[union-attr]
        assert registry.by_name("HT Daily") == HARBOUR
        assert store.remove_outlet("harbour times") and not store.remove_outlet("Harbour Times")
        assert [o.name for o in store.outlets()] == ["MEDUZA"]
    with open_store(db) as store:  # a new connection reads what was stored
        assert registry_of(store).by_name("Meduza").country == "LV"  # type: ignore[union-attr]


def test_registry_with_no_user_outlets_is_the_packaged_one() -> None:
    assert registry_with([]) is packaged_registry()
    assert registry_with([HARBOUR]).by_name("HT Daily") == HARBOUR


def test_ingest_names_outlets_and_countries_from_the_stores_registry(tmp_path: Path) -> None:
    records = tmp_path / "records.jsonl"
    record = {"text": HARBOUR_ARTICLE, "url": "https://news.harbourtimes.example/2024/ferry"}
    records.write_text(json.dumps(record) + "\n", encoding="utf-8")
    with open_store(str(tmp_path / "plain.db")) as store:
        ingest([str(records)], store, annotate=False)
        plain = next(store.iter_documents())
    assert plain.outlet == "harbourtimes.example" and plain.country is None
    with open_store(str(tmp_path / "user.db")) as store:
        store.add_outlet(HARBOUR)
        ingest([str(records)], store, annotate=False)
        stored = next(store.iter_documents())
    assert stored.outlet == "Harbour Times" and stored.country == "Aldmark"
    with open_store(str(tmp_path / "given.db")) as store:  # a registry given wins over the store's
        ingest([str(records)], store, annotate=False, registry=packaged_registry())
        given = next(store.iter_documents())
    assert given.outlet == "harbourtimes.example"


def test_metadata_reads_the_registry_it_is_given() -> None:
    packaged, user = packaged_registry(), _user_registry(HARBOUR)
    assert canonical_outlet("harbourtimes.example", packaged) == "harbourtimes.example"
    assert canonical_outlet("harbourtimes.example", user) == "Harbour Times"
    assert canonical_outlet("ht daily", user) == "Harbour Times"
    assert canonical_outlet("ht daily", packaged) == "ht daily"


def test_extraction_names_outlets_from_the_registry_it_is_given() -> None:
    record = Source(origin="x", data=HARBOUR_ARTICLE, mode="text",
                    hints=Hints(url="https://news.harbourtimes.example/2024/ferry"))
    plain = extract_one(record)
    assert isinstance(plain, Document) and plain.outlet == "harbourtimes.example"
    named = extract_one(record, _user_registry(HARBOUR))
    assert isinstance(named, Document) and (named.outlet, named.country) == ("Harbour Times", "Aldmark")


# --- enrich ------------------------------------------------------------------------------------


def test_enrich_gives_the_example_corpus_its_countries_and_ownership() -> None:
    documents = [d for d in extract([str(EXAMPLE_CORPUS)]) if isinstance(d, Document)]
    assert len(documents) == 7
    enrich(documents, packaged_registry())
    assert all(d.country is None and d.ownership is None for d in documents)  # fictional outlets
    enrich(documents, _example_registry())
    by_outlet = {d.outlet: (d.country, d.ownership) for d in documents}
    assert by_outlet == EXAMPLE_FACTS  # every outlet known; VNB under its full name
    assert {d.country for d in documents} == {"Aldmark", "Vesteria", "Corvenia", "International"}


def test_enrich_prefers_the_named_outlet_over_the_url() -> None:
    # A syndicated copy names its original publisher; the host's URL must not replace it.
    copy = Document(origin="x", text="t", outlet="Unknown Original Weekly",
                    url="https://www.nytimes.com/2020/01/01/x.html")
    hosted = Document(origin="y", text="t", url="https://www.nytimes.com/2020/01/01/y.html")
    enrich([copy, hosted], packaged_registry())
    assert copy.outlet == "Unknown Original Weekly" and copy.country is None
    assert (hosted.outlet, hosted.country, hosted.ownership) == ("The New York Times", "US", "private")


def test_enrich_replaces_a_country_guessed_before_the_outlet_was_known() -> None:
    document = Document(origin="x", text="t", outlet="harbourtimes.example", country="DE")
    enrich([document], _user_registry(HARBOUR))
    assert (document.outlet, document.country, document.ownership) == ("Harbour Times", "Aldmark", "private")


def test_an_unknown_outlets_country_comes_from_its_authors_affiliation() -> None:
    document = Document(origin="x", text="t", authors=["Ada Brenner"],
                        author_roles={"Ada Brenner": "Senior Fellow, Chatham House"})
    enrich([document], packaged_registry())
    assert document.country == "GB" and document.outlet is None and document.ownership is None


@pytest.mark.parametrize(("role", "expected"), [
    ("Program Director of the Valdai Club", ["Valdai Club"]),
    ("senior fellow at the Council on Foreign Relations", ["Council on Foreign Relations"]),
    ("former CNN correspondent", ["CNN"]),
    ("part-time lecturer, formerly at Time", []),  # a one-word name only as an acronym
    ("Director of the Lyssograd Energy Institute", []),
])
def test_outlets_named_in_a_role(role: str, expected: list[str]) -> None:
    assert [o.name for o in outlets_named_in(role, packaged_registry())] == expected


@pytest.fixture(scope="module")
def seed_documents(seeds_dir: Path) -> dict[int, Document]:
    paths = [str(seed_path(seeds_dir, number)) for number in range(5)]
    documents = [d for d in extract(paths) if isinstance(d, Document)]
    annotate(documents)  # an unsigned interview's voice is found through its quotes
    return dict(enumerate(documents))


def test_seeds_get_their_countries_through_the_registry(seed_documents: dict[int, Document]) -> None:
    enrich(seed_documents.values(), packaged_registry())
    countries = {number: doc.country for number, doc in seed_documents.items()}
    # 000 and 003 are Valdai Club pieces, 001 is by RIAC's director, 002 the Washington Post,
    # 004 the Global Times: the Russian think tanks group together apart from US and China.
    assert countries == {0: "RU", 1: "RU", 2: "US", 3: "RU", 4: "CN"}
    assert seed_documents[0].ownership == "think tank"
    assert seed_documents[2].ownership == "private"
    assert seed_documents[4].ownership == "state-affiliated"


def test_a_briefing_lists_sources_with_the_registrys_country_and_ownership() -> None:
    document = Document(origin="harbour.txt", text=HARBOUR_ARTICLE, url="https://harbourtimes.example/a")
    briefing = brief([document], words=40, registry=_user_registry(HARBOUR))
    source = briefing.sources[0]
    assert (source.outlet, source.country, source.ownership) == ("Harbour Times", "Aldmark", "private")


# --- the command line --------------------------------------------------------------------------


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_cli_import_list_add_remove_round_trip(tmp_path: Path) -> None:
    db = str(tmp_path / "cli.db")
    code, out, _ = _run("outlets", "import", str(EXAMPLE_OUTLETS), "--db", db)
    assert code == 0 and "Imported 7 outlets" in out
    code, out, _ = _run("outlets", "list", "--user-only", "--format", "json", "--db", db)
    listed = {o["name"]: (o["country"], o["ownership"]) for o in json.loads(out)}
    assert code == 0 and len(listed) == 7
    assert all(listed[name] == facts for name, facts in EXAMPLE_FACTS.items())
    # Options left out keep what the registry knows: the packaged Meduza's domain and ownership.
    code, out, _ = _run("outlets", "add", "Meduza", "--country", "ru", "--db", db)
    assert code == 0
    code, out, _ = _run("outlets", "list", "--db", db, "--format", "json")
    meduza = next(o for o in json.loads(out) if o["name"] == "Meduza")
    assert (meduza["country"], meduza["ownership"], meduza["domains"]) == ("RU", "private", ["meduza.io"])
    code, out, _ = _run("outlets", "add", "Harbour Times", "--domain", "https://www.harbourtimes.example/",
                        "--ownership", "Think Tank", "--alias", "HT Daily", "--db", db)
    assert code == 0 and "harbourtimes.example" in out
    code, out, _ = _run("outlets", "list", "--db", db)
    assert code == 0 and "Harbour Times" in out and "yours" in out and "packaged" in out
    assert _run("outlets", "remove", "ht daily", "--db", db)[0] == 0  # by alias
    code, _, err = _run("outlets", "remove", "Harbour Times", "--db", db)
    assert code == 1 and "not one of your outlets" in err
    code, _, err = _run("outlets", "remove", "Reuters", "--db", db)
    assert code == 1 and "packaged" in err
    with open_store(db) as store:
        assert len(store.outlets()) == 8


def test_cli_refuses_bad_input_with_clear_errors(tmp_path: Path) -> None:
    db = str(tmp_path / "cli.db")
    code, _, err = _run("outlets", "add", "X", "--ownership", "cult", "--db", db)
    assert code == 2 and "think tank" in err
    code, _, err = _run("outlets", "add", "X", "--domain", "not a domain", "--db", db)
    assert code == 2 and "not a domain" in err
    assert _run("outlets", "import", str(tmp_path / "missing.json"), "--db", db)[0] == 2
    broken = tmp_path / "broken.json"
    broken.write_text('[{"name": "A"', encoding="utf-8")
    code, _, err = _run("outlets", "import", str(broken), "--db", db)
    assert code == 1 and "not valid JSON" in err
    mixed = tmp_path / "mixed.json"
    mixed.write_text(json.dumps([{"name": "Good [News]"}, {"country": "RU"},
                                 {"name": "B", "ownership": "cult"}, 5]), encoding="utf-8")
    code, out, err = _run("outlets", "import", str(mixed), "--db", db)
    assert code == 1 and "Imported 1 outlet; 3 skipped" in out
    assert "outlet 2" in err and "outlet 3: B: unknown ownership" in err and "outlet 4" in err
    with open_store(db) as store:
        assert [o.name for o in store.outlets()] == ["Good [News]"]


def test_docs_shows_the_countries_of_the_example_corpus(tmp_path: Path) -> None:
    db = str(tmp_path / "example.db")
    assert _run("outlets", "import", str(EXAMPLE_OUTLETS), "--db", db)[0] == 0
    assert _run("ingest", str(EXAMPLE_CORPUS), "--db", db, "--no-annotate", "--quiet")[0] == 0
    code, out, _ = _run("docs", "--db", db)
    assert code == 0 and "country" in out
    for country in ("Aldmark", "Vesteria", "Corvenia", "International"):
        assert country in out
    code, out, _ = _run("docs", "--db", db, "--format", "json")
    assert {d["ownership"] for d in json.loads(out)} == {"private", "state-affiliated", "think tank", "public"}


def test_every_option_of_the_outlets_commands_is_documented() -> None:
    cli_doc = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    section = cli_doc.split("## `storyline outlets", 1)[1].split("\n## ", 1)[0]
    group = main.commands["outlets"]
    assert set(group.commands) == {"add", "list", "import", "remove"}  # type: ignore[attr-defined]
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        assert f"storyline outlets {name}" in section, name
        for param in command.params:
            if param.param_type_name == "option":
                assert max(param.opts, key=len) in section, (name, param.opts)
