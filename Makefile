# Front door. Every target configures and builds what it needs first.
#   make            build (build/)
#   make run        the default scenario (softiommu run)
#   make test       tests: plain build, then ASan+UBSan, then ThreadSanitizer (multi-threaded tests)
#   make bench      the benchmark programs (ratios against baselines measured in the same run)
#   make install    PREFIX=/usr/local by default
#   make fuzz       every libFuzzer target for FUZZ_SECONDS (default 60) each (build-fuzz/, clang)
#   make fuzz-replay  the committed fuzz corpora through every target (ASan+UBSan build)
#   make soak       the robustness tests' long versions (docs/robustness.md): SOAK_STEPS
#                   differential steps, SOAK_ROUNDS stress rounds plain and a tenth under TSan
#   make deps       the Debian packages the build and the tests use (scripts/install-deps.sh)
# Every target that builds first runs scripts/install-deps.sh: a check of a third of a
# second when the packages are there, apt-get (with sudo when not root) for what is
# missing. NO_DEPS=1 skips it (a machine without apt, or without the right to install).
PREFIX ?= /usr/local
JOBS   ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE  ?= cmake
# Evaluated when a build directory is configured, so after deps installed ninja.
GEN     = $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")

.PHONY: all build run test test-plain test-asan test-tsan bench install clean deps format \
	fuzz fuzz-build fuzz-replay soak

all: build

build/CMakeCache.txt: | deps
	$(CMAKE) -S . -B build $(GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo
build-asan/CMakeCache.txt: | deps
	$(CMAKE) -S . -B build-asan $(GEN) -DCMAKE_BUILD_TYPE=Debug -DSOFTIOMMU_SANITIZE=address
build-tsan/CMakeCache.txt: | deps
	$(CMAKE) -S . -B build-tsan $(GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSOFTIOMMU_SANITIZE=thread
build-fuzz/CMakeCache.txt: | deps
	CC=clang $(CMAKE) -S . -B build-fuzz $(GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSOFTIOMMU_FUZZ=ON

build: build/CMakeCache.txt
	$(CMAKE) --build build -j $(JOBS)

run: build
	./build/softiommu run

test: test-plain test-asan test-tsan

test-plain: build
	cd build && ctest --output-on-failure -j $(JOBS)

test-asan: build-asan/CMakeCache.txt
	$(CMAKE) --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)

test-tsan: build-tsan/CMakeCache.txt
	$(CMAKE) --build build-tsan -j $(JOBS)
	cd build-tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  ctest --output-on-failure -j $(JOBS)

bench: build
	$(CMAKE) --build build --target bench_extras -j $(JOBS)
	@set -e; for b in build/bench_*; do echo "== $$b"; $$b; done

# Fuzzing (docs/fuzzing.md): FUZZ_SECONDS per target, one target at a time.
FUZZ_SECONDS ?= 60
fuzz-build: build-fuzz/CMakeCache.txt
	$(CMAKE) --build build-fuzz -j $(JOBS) --target fuzzers

fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) ./fuzz/run.sh $(FUZZ_TARGETS)

fuzz-replay: build-asan/CMakeCache.txt
	$(CMAKE) --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -L fuzz

# Long runs of tests/robust (docs/robustness.md); each prints its seed or counts and time.
SOAK_STEPS  ?= 1000000
SOAK_ROUNDS ?= 40000
soak: build build-tsan/CMakeCache.txt
	$(CMAKE) --build build-tsan -j $(JOBS) --target robust_test_stress_mt robust_test_fill_race_mt \
	  robust_test_device_stress_mt
	SOFTIOMMU_DIFF_STEPS=$(SOAK_STEPS) SOFTIOMMU_DIFF_RUNS=8 ./build/robust_test_differential
	SOFTIOMMU_STRESS_ROUNDS=$(SOAK_ROUNDS) ./build/robust_test_stress_mt
	SOFTIOMMU_STRESS_ROUNDS=$(SOAK_ROUNDS) ./build/robust_test_device_stress_mt
	SOFTIOMMU_STRESS_ROUNDS=$$(($(SOAK_ROUNDS) / 10)) ./build/robust_test_fill_race_mt
	SOFTIOMMU_STRESS_ROUNDS=$$(($(SOAK_ROUNDS) / 10)) TSAN_OPTIONS=halt_on_error=1 \
	  ./build-tsan/robust_test_stress_mt
	SOFTIOMMU_STRESS_ROUNDS=$$(($(SOAK_ROUNDS) / 100)) TSAN_OPTIONS=halt_on_error=1 \
	  ./build-tsan/robust_test_fill_race_mt
	SOFTIOMMU_STRESS_ROUNDS=$$(($(SOAK_ROUNDS) / 10)) TSAN_OPTIONS=halt_on_error=1 \
	  ./build-tsan/robust_test_device_stress_mt

install: build
	$(CMAKE) --install build --prefix $(PREFIX)

deps:
ifeq ($(NO_DEPS),)
	@./scripts/install-deps.sh
endif

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan build-tsan build-fuzz
