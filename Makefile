# Switchboard: `make run` starts the stack, `make test` runs the suite.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
FUZZ_TESTS := tests/chat/test_fuzz.py tests/email/test_fuzz.py tests/phone/test_fuzz.py \
	tests/phone/test_twilio.py tests/social/test_fuzz.py

.PHONY: run test lock drill fuzz bench lint format tail dlq-replay migrate schema clean browser

# The dependencies come from the lock files (hashes checked), the same pins as the image's
# (deploy/Dockerfile installs requirements.lock, which requirements-dev.lock contains).
$(STAMP): pyproject.toml requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

## lock: re-pin requirements-dev.lock and requirements.lock from pyproject.toml (run after
##   changing a dependency; make test checks they agree)
LOCK_FLAGS := --universal --python-version 3.11 --generate-hashes --no-header --quiet
lock: $(STAMP)
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev $(LOCK_FLAGS) -o requirements-dev.lock
	$(VENV)/bin/uv pip compile pyproject.toml $(LOCK_FLAGS) -c requirements-dev.lock \
		-o requirements.lock

## run: start the broker, Postgres, migrations and all six services (Ctrl-C stops all)
run: $(STAMP)
	$(PY) -m switchboard_dev.stack

## test: the whole suite against a real broker and Postgres, in pytest sessions of their own
##   broker and database, two lanes side by side (switchboard_dev/suite.py says which)
test: $(STAMP) browser
	$(PY) -m switchboard_dev.suite

## drill: every failure drill (make test runs the key ones), against real processes
drill: $(STAMP)
	SWITCHBOARD_DRILLS=all $(PY) -m pytest tests/drills

## fuzz: the parsers' property tests with new random examples (make test repeats fixed ones)
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=explore $(PY) -m pytest $(FUZZ_TESTS)

## bench: start the stack, load it from another process, write bench/results/<date>.json and PNGs
bench: $(STAMP)
	$(PY) -m bench

# The page tests drive Debian's chromium (never a downloaded browser build).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing chromium for the page tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

## lint: ruff (format and check) and mypy strict
lint: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy shared switchboard_dev services tests bench

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## tail: print a topic's records as JSON lines, e.g. make tail TOPIC=interactions.v1
TOPIC ?= interactions.v1
tail: $(STAMP)
	$(PY) -m switchboard_dev.tail $(TOPIC)

## dlq-replay: republish a dead-letter topic's records to their topic, e.g.
##   make dlq-replay TOPIC=interactions.v1.dlq (DRY_RUN=1 only prints what it would replay)
dlq-replay: $(STAMP)
	$(PY) -m switchboard_dev.dlq_replay $(TOPIC) $(if $(DRY_RUN),--dry-run)

## migrate: apply every service's migrations to DATABASE_URL
migrate: $(STAMP)
	$(PY) -m switchboard_dev.migrations upgrade

## schema: regenerate the committed JSON Schemas of the events and docs/asyncapi.yaml
schema: $(STAMP)
	$(PY) -m shared.events
	$(PY) -m switchboard_dev.asyncapi

clean:
	rm -rf $(VENV) .run .pytest_cache .mypy_cache .ruff_cache
