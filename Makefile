# The two set-up commands of the README: `make demo` (the main job) and `make test`.
# Each creates .venv and installs what it needs on a fresh machine.
# The functions run on python3.12 on AWS (the template's Runtime), so the venv, the tests and the
# local stack use it where the machine has one (on PATH, or installed by pyenv), else python3.
PYTHON ?= $(shell for p in python3.12 "$$(pyenv root 2>/dev/null)"/versions/3.12*/bin/python3.12; do \
	"$$p" -c 'import venv, ensurepip' 2>/dev/null && { echo "$$p"; exit; }; done; echo python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MERMAID := tests/browser/mermaid
AXE := tests/browser/axe

.PHONY: demo test lint cfn-lint schemas unit aws emulator e2e browser browser-deps mermaid-deps axe-deps ocr-deps ocr-image bench faults clean

# ocr-deps is order-only: it must run first (tesserocr builds against it) but never forces a reinstall.
# uv installs faster than pip (most of `.ci/run`'s set-up); pip is the fallback when uv cannot be
# had. Bytecode is compiled at install, as pip does: with PYTHONDONTWRITEBYTECODE set (as on CI)
# every process of the suite would otherwise compile boto3, moto and pydantic again. tesserocr is
# built from source, against Debian's Tesseract 5 and its tessdata (the PyPI wheel bundles its own).
$(STAMP): pyproject.toml | ocr-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv || true
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python --no-binary tesserocr -e '.[dev]' \
		|| { $(BIN)/pip install --quiet --upgrade pip && $(BIN)/pip install --quiet --no-binary tesserocr -e '.[dev]'; }
	touch $(STAMP)

## The main job: the whole pipeline on the local AWS emulator. Its default source is the Clerk
## mirror in ../shared/fixtures when present, else the real Clerk site.
demo: $(STAMP)
	$(BIN)/disclosures demo --once

## Tesseract 5 and its English model from Debian, and the headers the tesserocr package builds
## against (root on CI; a clear failure elsewhere, since the OCR reader cannot work without them).
OCR_PKGS := tesseract-ocr tesseract-ocr-eng libtesseract-dev libleptonica-dev pkg-config
ocr-deps:
	@if command -v tesseract >/dev/null 2>&1 && pkg-config --exists tesseract lept 2>/dev/null; then echo "tesseract present"; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(OCR_PKGS) >/dev/null; \
	else echo "tesseract missing and cannot install it (not root): apt-get install $(OCR_PKGS)" >&2; exit 1; fi

## Debian's Chromium for the browser tests (root on CI; skipped with a notice elsewhere).
browser-deps:
	@if command -v chromium >/dev/null 2>&1; then echo "chromium present"; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else echo "chromium missing and cannot install it (not root): browser tests will skip"; fi

## The pinned Mermaid that checks the diagrams in docs/ (npm apt-installed as root on CI; skipped
## with a notice elsewhere). npm writes node_modules/.package-lock.json, so it reinstalls on a new lock.
mermaid-deps:
	@if ! command -v npm >/dev/null 2>&1 && [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; fi
	@if ! command -v npm >/dev/null 2>&1; then echo "npm missing and cannot install it (not root): the docs diagram test will skip"; \
	elif [ $(MERMAID)/node_modules/.package-lock.json -nt $(MERMAID)/package-lock.json ]; then echo "mermaid present"; \
	else npm ci --prefix $(MERMAID) --no-audit --no-fund --loglevel=error; fi

## The OCR function's container image (infra/ocr/Dockerfile, Debian's Tesseract), for arm64, pushed
## to ECR as OCR_IMAGE (e.g. ACCOUNT.dkr.ecr.REGION.amazonaws.com/congress-disclosures-ocr:TAG); then
## store the pushed digest's URI in SSM for `disclosures deploy` (docs/deployment.md). Needs Docker.
ocr-image:
	@test -n "$(OCR_IMAGE)" || { echo "set OCR_IMAGE=<ECR repository URI>:<tag>" >&2; exit 2; }
	docker buildx build --platform linux/arm64 --provenance=false -f infra/ocr/Dockerfile -t $(OCR_IMAGE) --push .

## The pinned axe-core the browser tests inject to check the website's accessibility (same npm as Mermaid).
axe-deps: mermaid-deps
	@if ! command -v npm >/dev/null 2>&1; then echo "npm missing: the accessibility check will skip"; \
	elif [ $(AXE)/node_modules/.package-lock.json -nt $(AXE)/package-lock.json ]; then echo "axe-core present"; \
	else npm ci --prefix $(AXE) --no-audit --no-fund --loglevel=error; fi

## ruff everywhere; mypy on the modules listed in pyproject.toml ([tool.mypy] files).
lint: $(STAMP)
	$(BIN)/ruff check services infra events tests
	$(BIN)/mypy

cfn-lint: $(STAMP)
	$(BIN)/cfn-lint infra/template.yaml

schemas: $(STAMP)
	$(BIN)/disclosures schemas

## Everything CI runs: lint, then the whole suite with coverage (template lint and schema drift are
## tests in it: tests/unit/infra/test_template.py, tests/events/test_contracts.py; `make cfn-lint`
## and `make schemas` run them alone).
## Two pytest processes, coverage appended: every tier but the browser's on PYTEST_WORKERS workers
## (pytest-xdist; each worker has its own emulator and stacks; an idle worker takes tests from a
## busy one, so the long e2e tests and the many short ones share the cores), then the browser
## tier alone (one Chromium and one stack per module are enough for two cores). Three workers on
## two cores: the e2e tests spend much of their time waiting on the local clock (visibility
## timeouts, alarm periods), and two workers left a quarter of the CPU idle.
PYTEST_WORKERS ?= 3
test: $(STAMP) browser-deps mermaid-deps axe-deps lint
	@# The project's own bytecode once, for the hundreds of processes the suite starts (CI sets PYTHONDONTWRITEBYTECODE).
	$(BIN)/python -m compileall -q -j 0 -x node_modules services infra events tests
	@# PYTHONDONTWRITEBYTECODE also stops pytest caching the test modules it rewrites for assert: each
	@# pytest process (the workers, the tests that collect the suite in a subprocess) did it again, 3.5 s.
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest tests -q -m "not browser" -n $(PYTEST_WORKERS) --dist worksteal --durations=12 --cov --cov-report= --cov-fail-under=0
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest tests/browser -q --cov --cov-append --cov-report=term-missing:skip-covered --cov-report=xml --cov-fail-under=80

## One test tier each (docs/developer-guide.md, Run the tests locally); tests/conftest.py gives the markers.
unit: $(STAMP)
	$(BIN)/python -m pytest tests -q -m unit

aws: $(STAMP)
	$(BIN)/python -m pytest tests -q -m aws

emulator: $(STAMP)
	$(BIN)/python -m pytest tests -q -m emulator

e2e: $(STAMP)
	$(BIN)/python -m pytest tests/e2e -q -m e2e

browser: $(STAMP) browser-deps mermaid-deps axe-deps
	$(BIN)/python -m pytest tests/browser -q -m browser

## Benchmarks print figures; they are never part of the test suite.
bench: $(STAMP)
	$(BIN)/python tests/benchmarks/bench_ptr_parse.py
	$(BIN)/python tests/benchmarks/bench_pipeline.py
	$(BIN)/python tests/benchmarks/bench_api.py
	$(BIN)/python tests/benchmarks/bench_ocr.py

## The fault suite on a local stack of its own (minutes; not part of `make test`): one table, exit 1
## when something was lost or counted twice.
faults: $(STAMP)
	$(BIN)/disclosures faults

clean:
	rm -rf $(VENV) $(MERMAID)/node_modules .pytest_cache .coverage coverage.xml htmlcov .disclosures
