# Everything a Debian 12 machine (as root) needs: `make demo`, `make test`; `make` builds bin/.
BUN     := node_modules/.bin/bun
PREFIX  ?= /opt/cni/bin
DESTDIR ?=
SOURCES := $(shell find entry.ts registry.ts build.ts pkg plugins ipam meta cnitool -name '*.ts' ! -name '*.test.ts' 2>/dev/null)

.PHONY: all deps test test-kernel unit demo bench install uninstall clean deb bytecode-order

all: bin/cni-plugins

$(BUN): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $(BUN)

bin/cni-plugins: $(BUN) $(SOURCES) $(wildcard scripts/bytecode-order/*.txt)
	$(BUN) build.ts bin

# Re-records the bytecode layout of the hot plugin calls (root; scripts/bytecode-order.ts), then rebuilds with it.
bytecode-order: deps all
	$(BUN) scripts/bytecode-order.ts
	$(BUN) build.ts bin

# System tools: iproute2 and iptables/nftables for the plugins and test assertions, Debian's Go plugins as the
# reference for conformance tests; installed only when missing.
deps:
	@bash scripts/install-deps.sh

test: deps all
	@bash test/run.sh

# Just the kernel-VM suite (test/kernel-vm/, also part of `make test`): one qemu boot of Debian's cloud kernel for
# the link kinds the build kernel lacks, with the guest's serial console streamed as it runs.
test-kernel: deps all
	KERNEL_VM_VERBOSE=1 CNI_TEST_BIN=$(CURDIR)/bin $(BUN) test test/kernel-vm

# Unit tests only: no root, no build.
unit: $(BUN)
	$(BUN) test --timeout 20000 pkg plugins ipam meta cnitool

demo: deps all
	@bash scripts/demo.sh

# A benchmark, not a test (root; ~2 min): our bin/ against Debian's Go plugins in /usr/lib/cni, each in a throwaway
# host netns, pods exec'd as a runtime does (test/bench/). Prints a table and `pod-add-ratio:`, `pod-del-ratio:`,
# `startup-ratio:` lines; fails only when a plugin fails or leaves state behind. Peak RSS is read with GNU time.
bench: deps all
	@[ -x /usr/bin/time ] || { echo "installing: time"; DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends time >/dev/null; } || true
	CNI_BENCH_BIN=$(CURDIR)/bin $(BUN) test/bench/bench.ts

install: all
	install -d $(DESTDIR)$(PREFIX)
	install -m 0755 bin/cni-plugins $(DESTDIR)$(PREFIX)/cni-plugins
	@for l in $$(find bin -type l -printf '%f\n'); do ln -sfn cni-plugins $(DESTDIR)$(PREFIX)/$$l; done

uninstall:
	@for l in $$(find bin -type l -printf '%f\n'); do \
	  [ "$$(readlink $(DESTDIR)$(PREFIX)/$$l 2>/dev/null)" = cni-plugins ] && rm -f $(DESTDIR)$(PREFIX)/$$l; done; true
	rm -f $(DESTDIR)$(PREFIX)/cni-plugins

# A Debian package of bin/ in $(DEBDIR) (packaging/deb/build-deb.sh: dpkg-deb only; packaging/README.md), checked
# with lintian (errors and warnings fail) when lintian is installed.
DEBDIR ?= dist
deb: all
	@deb=$$(bash packaging/deb/build-deb.sh bin $(DEBDIR)) && echo "$$deb" && \
	if command -v lintian >/dev/null; then lintian --fail-on error,warning "$$deb"; \
	else echo "lintian is not installed: package not checked"; fi

clean:
	rm -rf bin .test-out dist
