# Every target builds .venv itself; the stamp makes re-runs fast and re-installs
# whenever pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
BENCH_ARGS ?=
# Apache Kafka's jars, of the version pinned in deploy/kafka/pom.xml, from Maven Central.
KAFKA_VERSION := $(shell sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' deploy/kafka/pom.xml)
KAFKA_LIBS := $(CURDIR)/.cache/kafka-$(KAFKA_VERSION)/libs
KAFKA_JARS := $(KAFKA_LIBS)/.complete

.PHONY: venv demo test test-fast lint bench schemas deploy-files kafka kafka-jars browser lock dist

venv: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Exact versions with hashes from the lock; then this clone itself, built with the locked
# backend (no build isolation: nothing is fetched that the lock does not name).
$(STAMP): pyproject.toml requirements/dev.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes \
		-r requirements/dev.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps \
		--no-build-isolation -e .
	# devtools/ (demo, bench, local servers, generators) is not in the wheel: the development
	# environment finds it, like the packages above, in this clone.
	echo '$(CURDIR)' > "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/iaj-devtools.pth"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/iaj demo

# The real-Kafka tests need the jars; without Java and Maven they are skipped, except
# under CI=true, where that fails the run. The desk's browser tests need Debian's Chromium
# (`browser`), under the same rule.
test: $(STAMP) kafka-jars browser
	$(BIN)/pytest $(PYTEST_ARGS)

# The unit tests alone (no Kafka, no database server): under a minute.
test-fast: $(STAMP)
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

kafka-jars:
	@if command -v mvn >/dev/null 2>&1 && command -v java >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory $(KAFKA_JARS); \
	elif [ "$$CI" = true ]; then \
		echo "CI=true: Java 17+ and Maven are required for the Apache Kafka tests" >&2; exit 1; \
	else \
		echo "note: no Java or Maven here: the Apache Kafka tests will be skipped" >&2; \
	fi

# The desk's browser tests drive Debian's Chromium with Playwright (a dev dependency); the
# browser comes from Debian's packages, never from `playwright install`. Installed when
# missing and this user may (root, or sudo without a password); otherwise the browser tests
# are skipped, except under CI=true, where that fails the run.
CHROMIUM := /usr/bin/chromium
browser:
	@if [ ! -x $(CHROMIUM) ]; then \
		if [ "$$(id -u)" = 0 ]; then sudo=; else sudo="sudo -n"; fi; \
		if command -v apt-get >/dev/null 2>&1 && { [ -z "$$sudo" ] || sudo -n true 2>/dev/null; }; then \
			echo "installing Debian's chromium for the desk's browser tests (apt-get)" >&2; \
			$$sudo apt-get update -qq && \
			$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		fi; \
	fi; \
	if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$CI" = true ]; then \
		echo "CI=true: the desk's browser tests need Debian's chromium ($(CHROMIUM)): as root," \
			"apt-get install chromium" >&2; exit 1; \
	else \
		echo "note: no $(CHROMIUM) (Debian's chromium; as root: apt-get install chromium):" \
			"the desk's browser tests will be skipped" >&2; \
	fi

$(KAFKA_JARS): deploy/kafka/pom.xml
	mvn --batch-mode --quiet -Dstyle.color=never -f deploy/kafka/pom.xml -Dkafka.libs=$(KAFKA_LIBS) \
		dependency:copy-dependencies
	touch $@

# Apache Kafka in the foreground, configured as deployed (SASL/SCRAM, ACLs); writes the
# address and every user's password to .kafka-local.env (see README).
kafka: $(STAMP) kafka-jars
	$(BIN)/python -m devtools.apache_kafka

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy contracts kafka_access handlers broker partner_adapters devtools tests

# Issue 15's targets: 1,000 and 5,000 rounds on a PostgreSQL of its own (fsync on), at
# capacity and with 25 rounds in flight; e.g. BENCH_ARGS="--pairs 7" (min and median).
BENCH_RUN := $(BIN)/iaj bench --databases postgresql --postgres-dsn local
bench: $(STAMP)
	$(BENCH_RUN) --capacity $(BENCH_ARGS)
	$(BENCH_RUN) --in-flight 25 $(BENCH_ARGS)

schemas: $(STAMP)
	$(BIN)/iaj contracts schemas
	$(BIN)/iaj contracts asyncapi
	$(BIN)/iaj contracts signing-vectors

# Kafka users, topics and ACLs for docker-compose.yml and production, from the contracts.
deploy-files: $(STAMP)
	$(BIN)/iaj deploy users --output deploy/kafka-users.sh
	$(BIN)/iaj deploy topics --output deploy/kafka-topics.sh
	$(BIN)/iaj deploy acls --output deploy/kafka-acls.sh

# Re-compile requirements/*.lock from the ranges in the two pyproject.toml files, e.g. after
# changing one; LOCK_ARGS=--upgrade moves to the newest versions the ranges allow.
LOCK_ARGS ?=
LOCK := $(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes $(LOCK_ARGS)
lock: $(STAMP)
	$(LOCK) --extra dev -o requirements/dev.lock pyproject.toml
	$(LOCK) -o requirements/service.lock pyproject.toml
	$(LOCK) -o requirements/partner-adapter.lock packaging/partner-adapter/pyproject.toml
	$(LOCK) -o requirements/build.lock requirements/build.in

# The two distributions as wheels in dist/: iaj-broker (municipal) and iaj-partner-adapter.
dist: $(STAMP)
	$(BIN)/python -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir dist \
		. packaging/partner-adapter
