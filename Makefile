# chatlab — see README.md.
GO       ?= go
PACKAGES  = $(shell $(GO) list ./... | grep -v /node_modules/)
FUZZTIME ?= 30s

.PHONY: build test test-short vet fmt bench fuzz clean

build: ## the static chatlab binary in bin/
	CGO_ENABLED=0 $(GO) build -o bin/chatlab ./cmd/chatlab

test: vet ## every test, with the race detector
	$(GO) test -race -count=1 -timeout 15m $(PACKAGES)

test-short: ## every test, no race detector
	$(GO) test -count=1 $(PACKAGES)

vet: ## gofmt and go vet
	@unformatted=$$(gofmt -l $$($(GO) list -f '{{.Dir}}' ./... | grep -v /node_modules/)); \
	if [ -n "$$unformatted" ]; then echo "not gofmt'ed: $$unformatted"; exit 1; fi
	$(GO) vet $(PACKAGES)

fmt:
	gofmt -w $$($(GO) list -f '{{.Dir}}' ./... | grep -v /node_modules/)

bench: ## benchmarks that print figures
	$(GO) test -run '^$$' -bench . -benchmem $(PACKAGES)

fuzz: ## fuzz frame decoding for FUZZTIME
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime $(FUZZTIME) ./system/protocol

clean:
	rm -rf bin
