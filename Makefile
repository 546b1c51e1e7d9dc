# 惠企直达 — the two commands a new machine needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint format bench stop clean browser embedded

# Debian packages the project needs beyond Python: headless Chromium and a CJK font for the browser tests,
# wrk for the portal benchmark. Installed once; sudo when not root.
APT_PACKAGES := chromium fonts-wqy-microhei wrk
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): $(PY) requirements.txt requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

# A local .env for development: DEBUG on and a random SECRET_KEY, created once, never committed.
.env:
	@printf 'DEBUG=1\nSECRET_KEY=%s\n' "$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(40))')" > .env
	@echo "已生成本地开发配置 .env"

# Embedded PostgreSQL and Redis (var/, unix sockets) when DATABASE_URL / REDIS_URL are not set; .ci/run sets
# them when the machine runs its own. Starting them is this explicit step, never a side effect of the settings.
embedded: $(STAMP) .env
ifeq ($(and $(DATABASE_URL),$(REDIS_URL)),)
	$(PY) manage.py embedded start
endif

demo: $(STAMP) .env embedded
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --if-empty --enterprises $${DEMO_ENTERPRISES:-20000} --policies $${DEMO_POLICIES:-300}
	$(PY) manage.py demo_accounts
	$(PY) manage.py run_demo $${DEMO_ADDR:-127.0.0.1:8000}

# ruff, then the import contracts in pyproject.toml (the app layers: see docs/architecture.md).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

browser:
	@command -v chromium >/dev/null && command -v wrk >/dev/null && fc-list | grep -qi wqy || \
		($(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(APT_PACKAGES))

test: $(STAMP) .env lint browser embedded
	$(PY) -m pytest --create-db $(PYTEST_ARGS)

bench: $(STAMP) .env browser embedded
	$(PY) -m bench

stop: $(STAMP)
	$(PY) manage.py embedded stop

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache staticfiles
