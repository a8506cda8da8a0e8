# Two commands for a fresh machine: `make run` and `make test` (see README).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test lint migrate clean prod-up prod-down prod-status bench bench-quick compilemessages messages

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# The translations (locale/*/LC_MESSAGES/*.po) compiled into the .mo files Django reads (not
# committed): msgfmt when GNU gettext is installed, else polib; a failure stops the build.
compilemessages: $(STAMP)
	$(PY) -m ops.messages compile

# Refresh the catalogs from the code (makemessages for every language, both domains; needs
# GNU gettext), then translate the new empty msgstr entries in locale/ko (README, "Languages").
messages: $(STAMP)
	$(PY) -m ops.messages make

migrate: $(STAMP) compilemessages
	$(PY) manage.py migrate --noinput

run: migrate
	$(PY) manage.py runserver 127.0.0.1:8000

test: $(STAMP) compilemessages
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(PY) -m pytest $(PYTEST_ARGS)
	@if command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then \
		echo "== the database suites again, on PostgreSQL =="; \
		TEST_DATABASE=postgresql $(PY) -m pytest tests/accounts tests/rooms tests/moderation tests/messaging tests/images tests/notifications/test_api.py tests/notifications/test_push.py tests/notifications/test_email.py tests/notifications/test_concurrency.py $(PYTEST_ARGS); \
	else \
		echo "PostgreSQL binaries not found: skipped the PostgreSQL run (.ci/run installs them)"; \
		if [ "$$CI" = "true" ]; then exit 1; fi; \
	fi

# A production stack on loopback: PostgreSQL, Redis, $(WORKERS) Daphne workers, nginx with TLS
# (https://localhost:8443/), the purge scheduler, the task worker (pushes, e-mail digests). Needs Debian's postgresql, redis-server, nginx.
WORKERS ?= 2
prod-up: $(STAMP) compilemessages
	$(PY) -m ops.stack up --workers $(WORKERS)

prod-down:
	$(PY) -m ops.stack down

prod-status:
	$(PY) -m ops.stack status

# Benchmarks are not tests: each scenario saves JSON under bench/results/ (git-ignored) and
# bench.report prints the table (see bench/README.md). About 70 minutes on 2 cores.
FANOUT_TARGETS ?= reference tutorial daphne uvicorn redis redis-pubsub
SENDERS_TARGETS ?= reference uvicorn daphne redis-pubsub redis
bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[test,bench]'
	@for target in $(FANOUT_TARGETS); do $(PY) -m bench.fanout --target $$target || exit 1; done
	@for target in $(SENDERS_TARGETS); do $(PY) -m bench.fanout --senders --target $$target || exit 1; done
	@for target in uvicorn redis-pubsub; do $(PY) -m bench.fanout --senders --spread --target $$target || exit 1; done
	$(PY) -m bench.redis_commands
	$(PY) -m bench.reactions
	$(PY) -m bench.rooms
	$(PY) -m bench.rooms --public 2000 --per-room 5
	$(PY) -m bench.idle
	$(PY) -m bench.storm
	$(PY) -m bench.churn
	@for target in uvicorn postgresql; do $(PY) -m bench.history --target $$target || exit 1; done
	@for target in uvicorn postgresql; do $(PY) -m bench.ack --target $$target || exit 1; done
	$(PY) -m bench.ack --target postgresql --direct
	@for target in uvicorn postgresql; do $(PY) -m bench.search --target $$target || exit 1; done
	$(PY) -m bench.images
	$(PY) -m bench.rules
	$(PY) -m bench.pow
	$(PY) -m bench.push
	$(PY) -m bench.chart --publish
	$(PY) -m bench.report

# Every scenario small, one run each on its default target (PostgreSQL and Daphne only in the
# full run), in under 5 minutes: a smoke test of the benchmarks and a rough daily figure.
# Results and the chart go to bench/results/quick/ (never into the full report).
QUICK := BENCH_RESULTS=bench/results/quick
QUICK_FANOUT := --receivers 100 --rates 20,100 --duration 1 --repeats 1
bench-quick: $(STAMP)
	$(PY) -m pip install --quiet -e '.[test,bench]'
	@for target in reference uvicorn; do $(QUICK) $(PY) -m bench.fanout --target $$target $(QUICK_FANOUT) || exit 1; done
	@for target in reference uvicorn redis-pubsub; do $(QUICK) $(PY) -m bench.fanout --senders --target $$target $(QUICK_FANOUT) || exit 1; done
	$(QUICK) $(PY) -m bench.redis_commands --target redis-pubsub --messages 50
	$(QUICK) $(PY) -m bench.rooms --rooms 20 --duration 2 --repeats 1
	$(QUICK) $(PY) -m bench.rooms --public 100 --per-room 5 --duration 2 --repeats 1
	$(QUICK) $(PY) -m bench.idle --connections 300 --idle 2 --repeats 1
	$(QUICK) $(PY) -m bench.storm --clients 100 --repeats 1
	$(QUICK) $(PY) -m bench.churn --sockets 200 --churn 20 --duration 12 --repeats 1
	$(QUICK) $(PY) -m bench.history --messages 10000 --requests 5 --repeats 1
	$(QUICK) $(PY) -m bench.ack --duration 2 --repeats 1
	$(QUICK) $(PY) -m bench.search --messages 3000 --requests 3 --repeats 1
	$(QUICK) $(PY) -m bench.images --megapixels 1 --samples 1 --concurrent 2 --duration 2
	$(QUICK) $(PY) -m bench.rules --messages 200 --repeats 1
	$(QUICK) $(PY) -m bench.pow --bits 10 --samples 2
	$(QUICK) $(PY) -m bench.push --count 20
	$(QUICK) $(PY) -m bench.report

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) db.sqlite3* test-output
	find locale -name '*.mo' -delete
