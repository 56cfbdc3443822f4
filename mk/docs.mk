# Reference docs generated from the code (cmd/hazardsync-docs):
# docs/config-reference.md and docs/indicators.md.

## docs: regenerate docs/config-reference.md and docs/indicators.md from the code
docs:
	$(GO) run ./cmd/hazardsync-docs -out docs

## docs-check: fail when the committed docs differ from what the code generates
docs-check:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(GO) run ./cmd/hazardsync-docs -out "$$tmp" >/dev/null && \
	for f in config-reference.md indicators.md; do \
	  diff -u "docs/$$f" "$$tmp/$$f" >/dev/null || { echo "docs/$$f is stale: run make docs"; diff -u "docs/$$f" "$$tmp/$$f" | head -40; exit 1; }; \
	done && echo "docs are current"

.PHONY: docs-check
