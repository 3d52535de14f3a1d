# The README's two set-up commands are `make demo` and `make test`; both create .venv and install on first use.
SHELL := bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# This machine's pip configuration lists index folders that do not all exist; their warnings are noise.
QUIET_PIP := { grep -v --line-buffered '^WARNING: Location' || true; }

.PHONY: install demo chat test lint bench clean results results-seeds

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# llama-cpp-python compiles from source (~5 min on 2 cores, once: pip caches the wheel); portable, not -march=native
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(BIN)/pip install --progress-bar on -e '.[mobilesam,dev]' 2>&1 | $(QUIET_PIP)
	$(BIN)/python -c "import causal_sam_llm.segmentation.encoder_registry"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/causal-sam-llm demo

chat: $(STAMP)
	test -f $${CAUSAL_SAM_LLM_BENCHMARK:-$${CAUSAL_SAM_LLM_HOME:-$$HOME/.cache/causal-sam-llm}/benchmark}/benchmark.json || $(BIN)/causal-sam-llm data make-benchmark
	$(BIN)/causal-sam-llm chat benchmark:mr_t2-0011

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/causal-sam-llm bench

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache

# The experiments behind README's results tables (CPU: over an hour; each step resumes/reuses the embedding cache).
# The shipped checkpoints predate gradient clipping (now on by default): `--grad-clip none` reproduces their setting.
results: $(STAMP)
	$(BIN)/causal-sam-llm data make-benchmark
	for method in lad erm aug full_decoder; do $(BIN)/causal-sam-llm train --protocol ct_to_mr --method $$method --grad-clip none; done
	$(BIN)/causal-sam-llm eval --protocol ct_to_mr --checkpoint runs/ct_to_mr/{lad,erm,aug,full_decoder}/model.pt --json results/ct_to_mr.json
	for method in lad erm; do $(BIN)/causal-sam-llm train --protocol cross_scanner --method $$method --grad-clip none; done
	$(BIN)/causal-sam-llm eval --protocol cross_scanner --checkpoint runs/cross_scanner/{lad,erm}/model.pt --json results/cross_scanner.json
	$(BIN)/causal-sam-llm train-tci --checkpoint runs/cross_scanner/lad/model.pt
	$(BIN)/causal-sam-llm train-tci-ranker --checkpoint runs/cross_scanner/lad/model.pt
	$(BIN)/causal-sam-llm eval-tci --protocol cross_scanner --checkpoint runs/cross_scanner/lad/model.pt --json results/tci_cross_scanner.json
	$(BIN)/causal-sam-llm eval-tci --protocol cross_anatomy --checkpoint runs/cross_scanner/lad/model.pt --json results/tci_cross_anatomy.json
	$(BIN)/causal-sam-llm train-tci --checkpoint runs/ct_to_mr/lad/model.pt
	$(BIN)/causal-sam-llm train-tci-ranker --checkpoint runs/ct_to_mr/lad/model.pt
	$(BIN)/causal-sam-llm eval-tci --protocol ct_to_mr --checkpoint runs/ct_to_mr/lad/model.pt --json results/tci_ct_to_mr.json
	# brain tumours are small: every slice, and the slices that show tumour four times per epoch
	for method in lad erm; do $(BIN)/causal-sam-llm train --protocol brats_cross_sequence --method $$method --slice-stride 1 --foreground-repeats 4 --grad-clip none; done
	$(BIN)/causal-sam-llm eval --protocol brats_cross_sequence --checkpoint runs/brats_cross_sequence/{lad,erm}/model.pt --json results/brats_cross_sequence.json
	$(BIN)/causal-sam-llm train-tci --checkpoint runs/brats_cross_sequence/lad/model.pt
	$(BIN)/causal-sam-llm eval-tci --protocol brats_cross_sequence --checkpoint runs/brats_cross_sequence/lad/model.pt \
		--json results/tci_brats_cross_sequence.json

# LAD, ERM and style augmentation on ct_to_mr over three training seeds, gradient norm clipped to 1 (the default;
# CPU: about 1.2 h).
SEEDS := 0 1 2
results-seeds: $(STAMP)
	$(BIN)/causal-sam-llm data make-benchmark
	for seed in $(SEEDS); do for method in lad erm aug; do \
		$(BIN)/causal-sam-llm train --protocol ct_to_mr --method $$method --grad-clip 1.0 --seed $$seed \
			--out runs/ct_to_mr_seeds/$$method-s$$seed; done; done
	$(BIN)/causal-sam-llm eval --protocol ct_to_mr --checkpoint runs/ct_to_mr_seeds/*/model.pt \
		--json results/ct_to_mr_seeds.json
