# FormLab — the two README commands are `make run` and `make test`.
SHELL := /bin/bash
PYTHON_BOOT ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-load bench install install-dev migrate demo check clean-demo

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(PY) manage.py migrate --noinput -v0

demo: migrate
	$(PY) manage.py load_flex_kg
	$(PY) manage.py make_demo_data --dataset demo --clips 20 --seed 1 --if-missing
	$(PY) manage.py make_demo_data --dataset flexdemo --kind flex --clips 40 --seed 1 --if-missing
	$(PY) manage.py create_demo_users --dataset demo > var/demo-users.txt
	$(PY) manage.py collectstatic --noinput -v0

## make run: install, migrate, load the FLEX graph and demo data, start web server + Celery worker.
run: demo
	HOST=$(HOST) PORT=$(PORT) bash scripts/run.sh

## make test: install test requirements and Chromium, then run the whole suite. The suite needs
## PostgreSQL and Redis (pg_dump backups, COPY paths, broker redelivery after a killed worker):
## DATABASE_URL / CELERY_BROKER_URL when set, else the local servers below.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/formlab_test
TEST_BROKER_URL ?= redis://127.0.0.1:6379/1
test: $(VENV)/.installed-dev
	bash scripts/ensure_chromium.sh
	$(PY) manage.py makemigrations --check --dry-run -v0
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)} \
		$(PY) -m pytest tests -q

## make test-load: the long load and fault suite (needs PostgreSQL + Redis).
test-load: $(VENV)/.installed-dev
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)} \
		$(PY) -m pytest tests/load -q

bench: $(VENV)/.installed-dev
	@echo "See bench/README.md for each benchmark's command."

check: $(VENV)/.installed-dev
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run
