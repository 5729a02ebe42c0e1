# make            build the release products (swift build -c release)
# make install    lay them out under $(DESTDIR):
#   $(DESTDIR)$(DAEMONDIR)   daemon_directory: our master + links to the stock daemons
#   $(DESTDIR)$(SBINDIR)     the postfix and postmulti commands
# make check      run the tests (what CI runs: .ci/run without the apt-get part)
DESTDIR   ?=
DAEMONDIR ?= /usr/lib/mailhost/sbin
SBINDIR   ?= /usr/sbin
SWIFT     ?= swift
BUILDFLAGS ?=
BIN        = $(shell $(SWIFT) build -c release $(BUILDFLAGS) --show-bin-path)

.PHONY: all install check clean
all:
	$(SWIFT) build -c release $(BUILDFLAGS)

install: all
	contrib/install-daemon-dir $(DESTDIR)$(DAEMONDIR) $(BIN)/master
	install -d $(DESTDIR)$(SBINDIR)
	install -m 755 $(BIN)/postfix $(BIN)/postmulti $(DESTDIR)$(SBINDIR)/

check:
	$(SWIFT) build $(BUILDFLAGS)
	MAILHOST_MASTER=$$($(SWIFT) build $(BUILDFLAGS) --show-bin-path)/master $(SWIFT) test $(BUILDFLAGS)

clean:
	$(SWIFT) package clean
