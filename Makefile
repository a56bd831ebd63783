# SPDX-License-Identifier: BSD-2-Clause
# pystrobe: bpf/*.bpf.c -> .output/*.bpf.o -> .output/*.skel.h -> user/**/*.c -> pystrobe
#   make            build ./pystrobe
#   make demo       install dependencies, build, profile the bundled demo workload
#   make test       install, provision interpreters, run unit + integration tests
#   make test-san   the same tests against the ASan/UBSan build
#   make bench      overhead benchmark (see BENCHMARKS.md)
#   make format     apply clang-format; make check-format verifies it
#   V=1             show full commands
.DELETE_ON_ERROR:
# Skeletons are only order-only prerequisites: keep them between builds.
.SECONDARY:

ARCH ?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
ifeq ($(filter x86,$(ARCH)),)
$(error unsupported ARCH '$(ARCH)': vmlinux/ and the 3.9/3.10 thread matching are x86 only)
endif

SAN ?= 0
ifeq ($(SAN),1)
OUTPUT ?= .output-san
BIN ?= pystrobe-san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
OUTPUT ?= .output
BIN ?= pystrobe
SANFLAGS :=
endif

CLANG ?= clang
CC ?= cc
BPFTOOL ?= bpftool
PROTOC_C ?= protoc-c
CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers
# User code includes by folder: "session/cli.h", "bpf/sampler.h".
ALL_CFLAGS := $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -fno-omit-frame-pointer $(SANFLAGS) \
	-I$(OUTPUT) -iquote user -iquote .
LDLIBS := -lbpf -lelf -lz -lprotobuf-c -ljson-c -lcap -lm -lcurl -lncursesw -ltinfo -lpthread
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Ivmlinux/$(ARCH) -Ibpf \
	-I/usr/include/$(shell uname -m)-linux-gnu -Wall -Werror

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_SKELS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.skel.h,$(BPF_SRCS))
PROTO_C := $(OUTPUT)/profile.pb-c.c
USER_SRCS := $(filter-out user/main.c,$(shell find user -name '*.c' | sort))
# The USDT provider for `calls -- CMD`: one extension per Python minor
# version found (scripts/pythons.sh), plus its sitecustomize.py.
PROVIDER_DIR := $(abspath $(OUTPUT)/provider)
PROVIDER_STAMP := $(OUTPUT)/provider/.built
USER_OBJS := $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(USER_SRCS)) $(OUTPUT)/profile.pb-c.o
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.PHONY: all provider deps demo test test-unit test-integration test-san provision offsets bench \
	format check-format fuzz clean

all: $(BIN) provider

provider: $(PROVIDER_STAMP)

$(PROVIDER_STAMP): $(wildcard provider/*.c provider/*.h) provider/sitecustomize.py scripts/build-provider.sh \
		scripts/pythons.sh bpf/call_tracer.h | $(OUTPUT)
	$(call msg,PROVIDER,$(OUTPUT)/provider)
	$(Q)bash scripts/build-provider.sh $(OUTPUT)/provider
	$(Q)touch $@

$(OUTPUT)/user/cpython/provider.o: ALL_CFLAGS += -DPYSTROBE_PROVIDER_DIR='"$(PROVIDER_DIR)"'

deps:
	$(Q)bash scripts/install-deps.sh

$(OUTPUT) $(OUTPUT)/tests:
	$(Q)mkdir -p $@

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c vmlinux/$(ARCH)/vmlinux.h | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

$(OUTPUT)/profile.pb-c.c $(OUTPUT)/profile.pb-c.h: user/output/proto/profile.proto | $(OUTPUT)
	$(call msg,PROTOC,$@)
	$(Q)$(PROTOC_C) --proto_path=user/output/proto --c_out=$(OUTPUT) $<

$(OUTPUT)/profile.pb-c.o: $(OUTPUT)/profile.pb-c.c
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) -I$(OUTPUT) -c $< -o $@

# The HTML report's script and styles, as C arrays (xxd -i: report_js...).
HTML_ASSETS := $(sort $(wildcard user/output/html/*.js user/output/html/*.css))
$(OUTPUT)/html_assets.h: $(HTML_ASSETS) | $(OUTPUT)
	$(call msg,XXD,$@)
	$(Q)for f in $(notdir $(HTML_ASSETS)); do (cd user/output/html && xxd -i $$f); done > $@

$(OUTPUT)/user/output/html.o: $(OUTPUT)/html_assets.h

# Header dependencies come from -MMD -MP (.d files beside the objects); the
# generated headers are order-only prerequisites, built before any object.
$(OUTPUT)/user/%.o: user/%.c | $(BPF_SKELS) $(OUTPUT)/profile.pb-c.h
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BIN): $(OUTPUT)/user/main.o $(USER_OBJS)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $^ $(LDLIBS) -o $@

$(OUTPUT)/tests/%: tests/unit/%.c $(USER_OBJS) | $(OUTPUT)/tests
	$(call msg,TEST-CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP $(filter %.c %.o,$^) $(LDLIBS) -lcmocka -o $@

demo: deps $(BIN) provider
	$(Q)bash scripts/demo.sh ./$(BIN)

test-unit: $(UNIT_BINS)
	$(Q)set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

provision:
	$(Q)bash scripts/provision-pythons.sh

test-integration: $(BIN) provider
	$(Q)python3 tests/integration/run.py --pystrobe ./$(BIN)

test: deps provision
	$(Q)$(MAKE) --no-print-directory check-format test-unit test-integration
	$(Q)$(MAKE) --no-print-directory SAN=1 test-unit test-integration

test-san:
	$(Q)$(MAKE) --no-print-directory SAN=1 test-unit test-integration

offsets:
	$(Q)bash scripts/gen-offsets.sh > $(OUTPUT)/py_offsets_table.c.tmp
	$(Q)mv $(OUTPUT)/py_offsets_table.c.tmp user/cpython/py_offsets_table.c

bench: $(BIN) provider
	$(Q)python3 scripts/bench.py --pystrobe ./$(BIN)

FORMAT_SRCS = $(wildcard bpf/*.c bpf/*.h tests/unit/*.c tests/fuzz/*.c provider/*.c) \
	$(shell find user -name '*.[ch]')
format:
	$(Q)clang-format -i $(FORMAT_SRCS)

check-format:
	$(Q)clang-format --dry-run --Werror $(FORMAT_SRCS)

fuzz:
	$(Q)bash scripts/fuzz.sh

clean:
	$(Q)rm -rf .output .output-san pystrobe pystrobe-san

# Header dependencies recorded by -MMD -MP.
-include $(shell find $(OUTPUT) -name '*.d' 2>/dev/null)
