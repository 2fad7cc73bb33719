# The two commands of the README: `make run` and `make test`. Everything else serves them.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# Tests run against the real services on this machine (README: "Running the tests").
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
TEST_REDIS_URL ?= redis://127.0.0.1:6379/14
TEST_REDIS_CACHE_URL ?= redis://127.0.0.1:6379/15

.PHONY: install run test lint system-deps

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --no-compile -e ".[dev]" -c constraints.txt > $(VENV)/pip.log 2>&1 \
		|| (tail -n 40 $(VENV)/pip.log; exit 1)
	$(BIN)/python -c "import django, torch, cv2, av, celery, channels"
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/python manage.py migrate --noinput -v 0
	$(BIN)/python manage.py seed_demo
	$(BIN)/python -m config.server -b 127.0.0.1 -p 8000 config.asgi:application

# System packages the tests use: espeak-ng speaks the liveness digits in test clips, and
# Debian's Chromium (with its driver) runs the feed preview page in a real browser.
SYSTEM_PACKAGES := espeak-ng chromium chromium-driver
system-deps:
	@command -v espeak-ng >/dev/null && command -v chromedriver >/dev/null \
		|| apt-get install -y -q $(SYSTEM_PACKAGES) >/dev/null \
		|| (apt-get update -q >/dev/null && apt-get install -y -q $(SYSTEM_PACKAGES) >/dev/null)

test: install system-deps
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} \
	REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
	REDIS_CACHE_URL=$${REDIS_CACHE_URL:-$(TEST_REDIS_CACHE_URL)} \
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
