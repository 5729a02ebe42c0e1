# make            build the release products (swift build -c release)
# make install    lay them out under $(DESTDIR):
#   $(DESTDIR)$(DAEMONDIR)   daemon_directory: our master + links to the stock daemons
#                            and the plugins (echo.so, spawn.so: plugin_directory
#                            defaults to daemon_directory)
#   $(DESTDIR)$(SBINDIR)     the postfix, postmulti and postconf commands
# make check      run the tests (what CI runs: .ci/run without the apt-get part)
# make fuzz       build and run every libFuzzer target (fuzz/run), FUZZ_SECONDS each
# make asan       AddressSanitizer build, every test under it (.ci/run asan)
DESTDIR   ?=
DAEMONDIR ?= /usr/lib/mailhost/sbin
SBINDIR   ?= /usr/sbin
SWIFT     ?= swift
BUILDFLAGS ?=
BIN        = $(shell $(SWIFT) build -c release $(BUILDFLAGS) --show-bin-path)

.PHONY: all install check clean fuzz asan
all:
	$(SWIFT) build -c release $(BUILDFLAGS)

install: all
	contrib/install-daemon-dir $(DESTDIR)$(DAEMONDIR) $(BIN)/master $(BIN)
	install -d $(DESTDIR)$(SBINDIR)
	install -m 755 $(BIN)/postfix $(BIN)/postmulti $(BIN)/postconf $(DESTDIR)$(SBINDIR)/

check:
	$(SWIFT) build $(BUILDFLAGS)
	MAILHOST_MASTER=$$($(SWIFT) build $(BUILDFLAGS) --show-bin-path)/master $(SWIFT) test $(BUILDFLAGS)

FUZZ_SECONDS ?= 30
fuzz:
	fuzz/run -t $(FUZZ_SECONDS)

asan:
	.ci/run asan

clean:
	$(SWIFT) package clean
