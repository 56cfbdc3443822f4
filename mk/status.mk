# Status page: a real-browser check of the page served with the demo's data
# (issue 7, "Must show"). Installs Debian's chromium when it is missing.

BROWSER_OUT ?= $(or $(TMPDIR),/tmp)/hazardsync-browser-test

.PHONY: test-browser

## test-browser: load the status page and the dry-run map in headless Chromium; screenshots in $(BROWSER_OUT)
test-browser:
	@if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1 && ! command -v google-chrome >/dev/null 2>&1; then \
	  echo "installing chromium (Debian package)"; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	fi
	mkdir -p $(BROWSER_OUT)
	HAZARDSYNC_BROWSER=1 HAZARDSYNC_BROWSER_OUT=$(BROWSER_OUT) $(GO) test -count=1 -v -run 'TestBrowser|TestDemoInBrowser' ./adapter/status ./adapter/daemon
	@echo "screenshots: $(BROWSER_OUT)/*.png"
