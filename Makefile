# Storyline: `make run` (install, then brief the bundled example corpus) and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
DATA ?= ../shared/eval-data
OUT ?= out
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install run test bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

run: install
	@mkdir -p $(OUT)
	$(VENV)/bin/storyline outlets import examples/outlets.json --db $(OUT)/example.db
	$(VENV)/bin/storyline ingest examples/corpus --db $(OUT)/example.db --story "Orla river deal"
	$(VENV)/bin/storyline docs --db $(OUT)/example.db
	$(VENV)/bin/storyline brief --db $(OUT)/example.db --story "Orla river deal" \
		-o $(OUT)/briefing.html -o $(OUT)/briefing.md -o $(OUT)/briefing.json
	@echo "Browse it: $(VENV)/bin/storyline serve --db $(OUT)/example.db"

test: install
	$(PY) -m pytest -q -n 2

bench: install
	$(PY) benchmarks/extraction.py $(DATA) --gate
	$(PY) benchmarks/dates.py $(DATA) --gate
	$(PY) benchmarks/timex.py $(DATA) --gate
	$(PY) benchmarks/quotes.py $(DATA) --gate
	$(PY) benchmarks/annotate.py $(DATA)
	$(PY) benchmarks/summarization.py $(DATA) --gate
	$(PY) benchmarks/stories.py $(DATA)
	$(PY) benchmarks/mixed_piles.py $(DATA)
	$(PY) benchmarks/storylines.py $(DATA)
	$(PY) benchmarks/timeline.py $(DATA) --gate
	$(PY) benchmarks/brief_speed.py $(DATA)
	$(PY) benchmarks/web_speed.py $(DATA)
	$(PY) benchmarks/scale.py $(DATA) --docs 200

clean:
	rm -rf $(VENV) $(OUT) build src/*.egg-info .pytest_cache
