# The two commands of README.md. Each installs what is missing, then builds into build/.
BUILD ?= build
JOBS  ?= $(shell nproc)

.PHONY: setup build test test-sanitize demo clean format

setup:
	@bash scripts/setup.sh

build: setup
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The simulator's tests again under AddressSanitizer and UndefinedBehaviorSanitizer (CI runs it).
test-sanitize: setup
	@cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTRAINSIM_SANITIZE=ON \
	  -DTRAINSIM_GUI=OFF -DTRAINSIM_EXECUTOR=OFF >/dev/null
	@cmake --build build-asan -j $(JOBS) --target trainsim trainsim_tests
	@cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS) -E "Gui|Mpi|Executor|^Checks\."

demo: build
	$(BUILD)/bin/trainsim predict scenarios/default.yaml

format:
	@find sim tests bench executor gui -name '*.cpp' -o -name '*.hpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD)
