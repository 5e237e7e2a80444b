# podmedic — see README.md. Every target works on a clean checkout.
GO      ?= go
BIN     ?= bin/podmedic
PKGS    ?= ./...
RUN_DIR ?= runs/make-run

.PHONY: build test run bench bench-scaleout lint fmt clean compose-test

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/podmedic

# All tests, race detector on.
test:
	$(GO) test -race -count=1 -timeout 30m $(PKGS)

# The main job: one-command training on the embedded NATS server. It
# starts afresh (podmedic train --out DIR on an existing run resumes it).
run: build
	rm -rf $(RUN_DIR)
	$(BIN) train --out $(RUN_DIR)

bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 1s $(PKGS)

# Only the scale-out benchmark (one learner, 1..64 simulated actors, sync
# and async; about a minute). README: "Scale-out".
bench-scaleout:
	$(GO) test -run '^$$' -bench ScaleOut -benchtime 1x ./train/

# Real docker compose: our image FROM scratch, NATS, learner, scaled actors.
compose-test: build
	bash deploy/compose/test.sh

lint:
	@test -z "$$(gofmt -l .)" || (echo "gofmt needed:"; gofmt -l .; exit 1)
	$(GO) vet $(PKGS)

fmt:
	gofmt -w .

clean:
	rm -rf bin
