# The two commands a newcomer needs: `make demo` and `make test`. Everything else is for CI.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 8000
# pytest-xdist workers for `make test`: each has its own PostgreSQL and Redis database
# (config/django/test.py); two keep a 2-core machine busy while tests wait on browsers and servers.
TEST_WORKERS ?= 2

.PHONY: install demo serve test lint format typecheck importlint migrations-check deploy-check ci clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c requirements.lock ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## make demo: install, migrate the embedded SQLite database, load demo data, start the payment rails,
## a Celery worker with beat and two local providers (real Triton), serve on $(HOST):$(PORT).
## Ctrl-C stops everything it started (scripts/demo-services.sh).
demo: install
	HOST=$(HOST) PORT=$(PORT) PY=$(PY) scripts/demo-services.sh run

## make test: install and run the whole suite in $(TEST_WORKERS) pytest-xdist workers (TEST_WORKERS=0: one
## process). scripts/test-bootstrap.sh installs Debian's Chromium when missing and uses a local
## PostgreSQL/Redis when DATABASE_URL/REDIS_URL are not set.
test: install
	PYTHON=$(PY) scripts/test-bootstrap.sh $(PY) -m pytest -n $(TEST_WORKERS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: install
	$(VENV)/bin/mypy .

importlint: install
	$(VENV)/bin/lint-imports

migrations-check: install
	$(PY) manage.py makemigrations --check --dry-run

# Production settings with throwaway secrets and production-like services: `check --deploy` must
# report nothing, and core/checks.py must find no development default. Nothing here is contacted:
# the hosts are placeholders (.invalid never resolves) and checks do not connect.
deploy-check: install
	DJANGO_SETTINGS_MODULE=config.django.production \
	DJANGO_SECRET_KEY="$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))')" \
	DJANGO_ALLOWED_HOSTS=agora.example.com \
	DATABASE_URL=postgres://agora@db.invalid:5432/agora \
	REDIS_URL=redis://cache.invalid:6379/0 \
	AWS_STORAGE_BUCKET_NAME=agora-artefacts AWS_S3_REGION_NAME=us-east-1 \
	STRIPE_SECRET_KEY=sk_live_placeholder STRIPE_PUBLISHABLE_KEY=pk_live_placeholder \
	STRIPE_WEBHOOK_SECRETS=whsec_placeholder \
	WEB3_CHAIN_ID=8453 WEB3_PROVIDER_URL=https://rpc.invalid \
	WEB3_TOKEN_ADDRESS=0x000000000000000000000000000000000000a9e0 \
	WEB3_HOT_WALLET_KEY="0x$$($(PY) -c 'import secrets; print(secrets.token_hex(32))')" \
	ARTEFACT_MASTER_KEY="$$($(PY) -c 'import base64, secrets; print(base64.b64encode(secrets.token_bytes(32)).decode())')" \
	METRICS_BEARER_TOKEN="$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(32))')" \
	$(PY) manage.py check --deploy --fail-level WARNING

ci: test lint typecheck migrations-check importlint deploy-check

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache staticfiles test-artifacts
