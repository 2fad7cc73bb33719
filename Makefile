# The two commands of the README: `make run` and `make test`. Everything else serves them.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed-stamp

# Tests run against the real services on this machine (README: "Running the tests").
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
TEST_REDIS_URL ?= redis://127.0.0.1:6379/14
TEST_REDIS_CACHE_URL ?= redis://127.0.0.1:6379/15

.PHONY: install run test lint run-deps system-deps

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --no-compile -e ".[dev]" -c constraints.txt > $(VENV)/pip.log 2>&1 \
		|| (tail -n 40 $(VENV)/pip.log; exit 1)
	$(BIN)/python -c "import django, torch, cv2, av, celery, channels"
	touch $(STAMP)

install: $(STAMP)

run: install run-deps
	$(BIN)/python manage.py migrate --noinput -v 0
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py seed_moderation
	$(BIN)/python -m config.server -b 127.0.0.1 -p $(PORT) config.asgi:application

# System programs, from Debian's packages, installed when missing (as root; `apt-get update`
# only if the package lists are too old to have them). The service itself shells out to
# espeak-ng for speech; the tests also drive the feed preview in Debian's Chromium and load
# the web benchmarks with wrk.
RUN_PROGRAMS := espeak-ng:espeak-ng
TEST_PROGRAMS := $(RUN_PROGRAMS) chromium:chromium chromedriver:chromium-driver wrk:wrk
define apt_ensure
	@missing=""; for pair in $(1); do command -v "$${pair%%:*}" >/dev/null || missing="$$missing $${pair#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  apt-get install -y -q $$missing >/dev/null 2>&1 \
	    || (apt-get update -q >/dev/null && apt-get install -y -q $$missing >/dev/null) \
	    || { echo "could not install$$missing: install them (as root: apt-get install$$missing)"; exit 1; }; \
	fi
endef

run-deps:
	$(call apt_ensure,$(RUN_PROGRAMS))

system-deps:
	$(call apt_ensure,$(TEST_PROGRAMS))

test: install system-deps
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} \
	REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
	REDIS_CACHE_URL=$${REDIS_CACHE_URL:-$(TEST_REDIS_CACHE_URL)} \
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
