# The two commands of README.md. Each installs what is missing, then builds into build/.
BUILD ?= build
JOBS  ?= $(shell nproc)

.PHONY: setup build test demo clean format

setup:
	@bash scripts/setup.sh

build: setup
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

demo: build
	$(BUILD)/bin/trainsim predict scenarios/default.yaml

format:
	@find sim tests bench executor gui -name '*.cpp' -o -name '*.hpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD)
