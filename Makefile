# make            build the release products (swift build -c release)
# make install    lay them out under $(DESTDIR), beside the stock Postfix
#                 package, never over or in front of any of its files:
#   $(DESTDIR)$(DAEMONDIR)   daemon_directory: our master + links to the stock daemons
#                            and every plugin built (spawn.so, qmgr.so, pickup.so,
#                            flush.so, metrics.so, echo.so, ...: plugin_directory
#                            defaults to daemon_directory, so Debian's master.cf
#                            `qmgr`, `pickup` and `flush` lines run our plugins)
#   $(DESTDIR)$(TOOLDIR)     our postfix, postmulti and postconf. Not /usr/sbin and
#                            not in PATH: they do not fully replace stock's (our
#                            postconf lacks -a -A -b -l -m -o -p -t -T -v, which
#                            postfix-tls-script and other stock scripts need), so
#                            contrib/install-tools refuses a directory in the
#                            command search path or a file that a package owns.
#                            Run them by full path, e.g. /usr/lib/mailhost/bin/postfix.
# make check      the debug build and every test with its master (.ci/run's debug phase)
# make fuzz       build and run every libFuzzer target (fuzz/run), FUZZ_SECONDS each
# make asan       AddressSanitizer build, every test under it (.ci/run asan)
DESTDIR   ?=
DAEMONDIR ?= /usr/lib/mailhost/sbin
TOOLDIR   ?= /usr/lib/mailhost/bin
SWIFT     ?= swift
BUILDFLAGS ?=
BIN        = $(shell $(SWIFT) build -c release $(BUILDFLAGS) --show-bin-path)

.PHONY: all install check clean fuzz asan
all:
	$(SWIFT) build -c release $(BUILDFLAGS)

install: all
	contrib/install-tools $(DESTDIR)$(TOOLDIR) $(TOOLDIR) $(BIN)
	contrib/install-daemon-dir $(DESTDIR)$(DAEMONDIR) $(BIN)/master $(BIN)

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
