# tlstap: BPF objects, skeletons, the collector binary, tests and benchmarks.
#
#   make            build build/tlstap
#   make run        install build deps if missing, build, trace system-wide
#   make test       install build+test deps if missing, build, run all tests
#   make bench      benchmark (see bench/README.md; options in BENCH_ARGS="...")
#   make install    install binary and man page under $(PREFIX)
#   make V=1 SANITIZE=1 EXTRA_CFLAGS=...

OUTPUT ?= build
CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= gcc
PREFIX ?= /usr/local
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
# Set VMLINUX_H to a ready vmlinux.h to build where the running kernel has no BTF.
VMLINUX_H ?=
RUN_ARGS ?=

ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

CFLAGS ?= -g -O2
CFLAGS += -Wall -Wextra -Wno-unused-parameter -Werror -std=gnu11 -D_GNU_SOURCE
# The collector by concern; each folder's headers are included by name.
COLLECTOR_DIRS = collector collector/libs collector/discovery collector/ingest collector/decoders \
	collector/outputs
INCLUDES = -I$(OUTPUT) -Iprobes $(addprefix -I,$(COLLECTOR_DIRS)) -Ipcap-writer
CFLAGS += $(INCLUDES) $(EXTRA_CFLAGS)
LDFLAGS += $(EXTRA_LDFLAGS)
ifeq ($(SANITIZE),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
LIBS = -lbpf -lelf -lz -lnghttp2 -lpcap -lcapstone

# The target architecture's kernel headers (asm/unistd.h: syscall numbers),
# which -target bpf does not look for by itself.
BPF_ASM_INCLUDE ?= /usr/include/$(shell uname -m)-linux-gnu
BPF_CFLAGS = -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	-I$(OUTPUT) -Iprobes -idirafter $(BPF_ASM_INCLUDE)
BPF_HDRS = probes/tlstap.h $(wildcard probes/*.bpf.h)

# Sources shared by the binary and the unit tests (all but main.c): the
# collector's and the pcapng writer's, which needs no BPF.
LIB_SRCS = $(filter-out collector/main.c,$(foreach d,$(COLLECTOR_DIRS),$(wildcard $(d)/*.c))) \
	$(wildcard pcap-writer/*.c)
LIB_OBJS = $(patsubst %.c,$(OUTPUT)/%.o,$(LIB_SRCS))
MAIN_OBJ = $(OUTPUT)/collector/main.o
UNIT_SRCS = $(wildcard tests/unit/test_*.c)
UNIT_BINS = $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))

.PHONY: all run test unit unit-bins fuzz fuzz-bins peers e2e bench install clean deps deps-test deps-bench testdata

all: $(OUTPUT)/tlstap

deps:
	$(Q)./deploy/install-deps.sh build
deps-test:
	$(Q)./deploy/install-deps.sh test
deps-bench:
	$(Q)./deploy/install-deps.sh bench

$(OUTPUT) $(OUTPUT)/tests:
	$(Q)mkdir -p $@

ifeq ($(VMLINUX_H),)
$(OUTPUT)/vmlinux.h: | $(OUTPUT)
	$(call msg,GEN,$@)
	$(Q)test -r $(VMLINUX_BTF) || { echo "no kernel BTF at $(VMLINUX_BTF): pass VMLINUX_BTF=file or VMLINUX_H=vmlinux.h" >&2; exit 1; }
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@
else
$(OUTPUT)/vmlinux.h: $(VMLINUX_H) | $(OUTPUT)
	$(Q)cp $< $@
endif

$(OUTPUT)/%.bpf.o: probes/%.bpf.c $(BPF_HDRS) $(OUTPUT)/vmlinux.h | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@
	$(Q)llvm-strip -g $@

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

# The collector includes both skeletons; generate them before compiling it.
SKELS = $(OUTPUT)/tlstap.skel.h $(OUTPUT)/tlstap_empty.skel.h

$(OUTPUT)/collector/%.o: collector/%.c $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(OUTPUT)/pcap-writer/%.o: pcap-writer/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(OUTPUT)/tlstap: $(MAIN_OBJ) $(LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LIBS) -o $@

$(OUTPUT)/tests/test_%: tests/unit/test_%.c $(LIB_OBJS) | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -MMD -MP $< $(LIB_OBJS) $(LDFLAGS) $(LIBS) -lcmocka -o $@

# Fuzz targets (libFuzzer, clang): make test runs them over their corpora and a
# fixed-seed, fixed-count mutation run (deterministic); make fuzz at random.
FUZZ_OUT = $(OUTPUT)/fuzz
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined
# struct flow keeps an event header (flexible data[] unused) inside it: a GNU extension clang names.
FUZZ_CFLAGS = -g -O1 $(FUZZ_SAN) -std=gnu11 -D_GNU_SOURCE -Wno-gnu-variable-sized-type-not-at-end $(INCLUDES)
FUZZ_TARGETS = $(patsubst tests/fuzz/%.c,$(FUZZ_OUT)/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECS ?= 300
# The sources every target links, instrumented once (not once per target).
FUZZ_LIB_OBJS = $(patsubst %.c,$(FUZZ_OUT)/obj/%.o,$(LIB_SRCS))

$(FUZZ_OUT)/obj/%.o: %.c $(SKELS)
	$(call msg,FUZZ-CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_OUT)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB_OBJS)
	$(call msg,FUZZ-LD,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_LIB_OBJS) $(LIBS) -o $@

fuzz-bins: $(FUZZ_TARGETS)

# Test peers built against Debian's BoringSSL (android-libboringssl-dev), not
# the system OpenSSL: its headers first, its libraries found at run time.
BORING_LIB ?= /usr/lib/$(shell uname -m)-linux-gnu/android
BORING_FLAGS = -g -O2 -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE -I/usr/include/android
PEER_BINS = $(patsubst tests/peers/%.c,$(OUTPUT)/peers/%,$(wildcard tests/peers/boring_*.c))

$(OUTPUT)/peers/boring_%: tests/peers/boring_%.c tests/peers/boring_http.h
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(BORING_FLAGS) $< -L$(BORING_LIB) -Wl,-rpath,$(BORING_LIB) -lssl -lcrypto -o $@

# Go test peers, built offline with Debian's golang-go (standard library only),
# each source in eight variants: plain, stripped, PIE and stripped PIE (Go's own
# linker, no cgo), and a PIE linked by the system's linker with and without
# symbols (as distributions build Go packages: cgo, the function table
# merged into .data.rel.ro), and the same linked by lld, which leaves the
# table's text start 0 in the file (only its dynamic relocation holds it)
# and puts C start-up code before runtime.text. The Go caches live in the
# build folder; no module, no toolchain download.
GO ?= go
GO_SRCS = $(wildcard tests/peers/go/*.go)
GO_ENV = env -u GOTOOLCHAIN GO111MODULE=off GOFLAGS= \
	GOCACHE=$(abspath $(OUTPUT))/go/cache GOPATH=$(abspath $(OUTPUT))/go/path
# Sources are named go*.go (the plain variant's rule matches that prefix).
GO_VARIANTS = % %-stripped %-pie %-pie-stripped %-extpie %-extpie-stripped %-lldpie \
	%-lldpie-stripped
GO_PEER_BINS = $(foreach v,$(GO_VARIANTS),$(patsubst tests/peers/go/%.go,$(OUTPUT)/peers/$(v),$(GO_SRCS)))
# $(1): cgo (0 or 1); $(2): build flags.
go_build = $(call msg,GO,$@) mkdir -p $(@D) && $(GO_ENV) CGO_ENABLED=$(1) $(GO) build -trimpath $(2) -o $@ $<

LLD_LDFLAGS = -linkmode=external -extldflags=-fuse-ld=lld
$(OUTPUT)/peers/%-lldpie-stripped: tests/peers/go/%.go
	$(Q)$(call go_build,1,-buildmode=pie -ldflags='$(LLD_LDFLAGS) -s -w')
$(OUTPUT)/peers/%-lldpie: tests/peers/go/%.go
	$(Q)$(call go_build,1,-buildmode=pie -ldflags='$(LLD_LDFLAGS)')
$(OUTPUT)/peers/%-extpie-stripped: tests/peers/go/%.go
	$(Q)$(call go_build,1,-buildmode=pie -ldflags='-linkmode=external -s -w')
$(OUTPUT)/peers/%-extpie: tests/peers/go/%.go
	$(Q)$(call go_build,1,-buildmode=pie -ldflags=-linkmode=external)
$(OUTPUT)/peers/%-pie-stripped: tests/peers/go/%.go
	$(Q)$(call go_build,0,-buildmode=pie -ldflags='-s -w')
$(OUTPUT)/peers/%-pie: tests/peers/go/%.go
	$(Q)$(call go_build,0,-buildmode=pie)
$(OUTPUT)/peers/%-stripped: tests/peers/go/%.go
	$(Q)$(call go_build,0,-ldflags='-s -w')
$(OUTPUT)/peers/go%: tests/peers/go/go%.go
	$(Q)$(call go_build,0,)

peers: $(PEER_BINS) $(GO_PEER_BINS)

# The Go ELF analysis is tested on the Go peers; the sanitized build's test
# uses the plain build's (Go code is not sanitized), which make test builds first.
ifneq ($(SANITIZE),1)
$(OUTPUT)/tests/test_go_elf: | $(GO_PEER_BINS)
endif

fuzz: deps-test fuzz-bins
	$(Q)./tests/run-fuzz.sh $(FUZZ_OUT) $(FUZZ_SECS)

run: deps
	$(Q)$(MAKE) --no-print-directory all
	./$(OUTPUT)/tlstap $(RUN_ARGS)

# Unit tests need no privileges (run plain and sanitized); e2e tests load
# the real BPF programs.
# The builds of make test run on every core (JOBS); the tests themselves do not.
JOBS ?= $(shell nproc)

test: deps-test
	$(Q)$(MAKE) --no-print-directory -j$(JOBS) all $(UNIT_BINS) peers
	$(Q)$(MAKE) --no-print-directory -j$(JOBS) SANITIZE=1 OUTPUT=$(OUTPUT)/asan \
		VMLINUX_H=$(OUTPUT)/vmlinux.h unit-bins
	$(Q)$(MAKE) --no-print-directory -j$(JOBS) fuzz-bins
	$(Q)./tests/run-all.sh $(OUTPUT) $(OUTPUT)/asan

unit-bins: $(UNIT_BINS)

unit: $(UNIT_BINS)
	$(Q)./tests/run-unit.sh $(OUTPUT)

e2e: all peers
	$(Q)/usr/bin/python3 tests/e2e/run.py --tlstap $(OUTPUT)/tlstap

# The Go server row needs the plain gohttps peer only (not the other variants).
bench: deps-bench
	$(Q)$(MAKE) --no-print-directory all $(OUTPUT)/peers/gohttps
	$(Q)./bench/run.sh $(OUTPUT)/tlstap $(BENCH_ARGS)

install: $(OUTPUT)/tlstap
	install -D -m 0755 $(OUTPUT)/tlstap $(DESTDIR)$(PREFIX)/sbin/tlstap
	install -D -m 0644 docs/tlstap.8 $(DESTDIR)$(PREFIX)/share/man/man8/tlstap.8

clean:
	rm -rf $(OUTPUT)

-include $(wildcard $(OUTPUT)/collector/*.d $(OUTPUT)/collector/*/*.d $(OUTPUT)/pcap-writer/*.d \
	$(OUTPUT)/tests/*.d $(FUZZ_OUT)/obj/*/*.d $(FUZZ_OUT)/obj/*/*/*.d)

# Keep the generated BPF objects and the fuzz targets' objects: intermediate
# (named by pattern rules only), not disposable. (A bare
# .SECONDARY: would let a missing object go unrebuilt.)
.SECONDARY: $(patsubst probes/%.bpf.c,$(OUTPUT)/%.bpf.o,$(wildcard probes/*.bpf.c)) $(FUZZ_LIB_OBJS)
.DELETE_ON_ERROR:
