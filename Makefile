# chatlab — see README.md.
GO       ?= go
PACKAGES  = $(shell $(GO) list ./... | grep -v /node_modules/)
FUZZTIME ?= 30s
SCENARIO ?= node-restart
TARGET   ?= sim
SEED     ?= 1
SEEDS    ?= 1-20

.PHONY: build test test-short vet fmt bench fuzz clean chaos sweep hunt

build: ## the static chatlab binary in bin/
	CGO_ENABLED=0 $(GO) build -o bin/chatlab ./cmd/chatlab

chaos: build ## run SCENARIO on TARGET with SEED (or a sweep with SEEDS=A-B given explicitly)
	bin/chatlab chaos --scenario $(SCENARIO) --target $(TARGET) $(if $(filter command line,$(origin SEEDS)),--seeds $(SEEDS),--seed $(SEED))

sweep: build ## every scenario the simulator runs, for every seed in SEEDS; fails on any failing seed, ends with one summary line
	@total=0; failed=""; for name in $$(bin/chatlab scenarios --names --target sim); do \
		total=$$((total + 1)); \
		bin/chatlab chaos --scenario $$name --seeds $(SEEDS) || failed="$$failed $$name"; \
	done; \
	if [ -z "$$failed" ]; then echo "sweep: all $$total scenarios passed every seed in $(SEEDS)"; \
	else echo "sweep: $$(echo $$failed | wc -w) of $$total scenarios failed a seed in $(SEEDS):$$failed"; exit 1; fi

# chatlab hunt: generated scenarios with random faults on the simulator, for
# FOR; every failure is shrunk and kept as a scenario file in reports/hunt/
# (HUNT_ARGS: e.g. --mutation drop, --shard 2/4, --seed 7).
FOR       ?= 5m
HUNT_SEED ?= 1
HUNT_ARGS ?=

hunt: build ## generate and run scenarios with random faults for FOR; failures shrunk into reports/hunt/failures
	bin/chatlab hunt --for $(FOR) --seed $(HUNT_SEED) $(HUNT_ARGS)

test: vet ## every test, with the race detector
	$(GO) test -race -count=1 -timeout 30m $(PACKAGES)

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

# --- The mutation score: realistic bugs planted one at a time -----------
# Each mutant of chaos/mutants/testdata/catalogue.yaml is built into its own
# chatlab (go build -overlay: the tree is untouched) and run through the sim
# sweep, then the local sweep for code only the real targets run, until a
# check catches it. MUTANTS_ARGS="--tests" also runs go test per mutant;
# "--only NAME,NAME" picks mutants; the outcomes go to reports/mutants.json.
MUTANTS_ARGS ?=

.PHONY: mutants mutants-ci

mutants: ## the mutation score of the whole catalogue (sim sweep, local sweep for real-target code)
	$(GO) run ./cmd/mutants $(MUTANTS_ARGS)

mutants-ci: ## the catalogue's ci subset, each of which must be killed
	$(GO) run ./cmd/mutants --ci --strict --sim-seeds 1 $(MUTANTS_ARGS)

# --- Real targets: images, a compose cluster, load -----------------------
COMPOSE      ?= docker-compose
LOAD_ARGS    ?= --url ws://127.0.0.1:8080/ws --clients 100 --rate 1/s --duration 20s
IDLE_CLIENTS ?= 10000
# The balancer holds two sockets per connection (client and node), so its
# connections are bounded by half the open-files hard limit (ulimit -Hn):
# 9,000 fits a hard limit of 20,000; 10,000 needs 20,200.
IDLE_BALANCER_CLIENTS ?= 9000

.PHONY: images up down load bench-idle bench-idle-balancer bench-goals bench-joinflood

images: build ## chatlab:dev (scratch + static binary) and chatlab-redis:dev (offline Redis)
	docker build -q -f docker/chatlab.Dockerfile -t chatlab:dev bin
	docker/redis/build.sh chatlab-redis:dev

up: images ## the compose cluster with the offline images: 3 nodes, balancer :8080, dashboard :7070
	$(COMPOSE) -f docker-compose.yml -f docker-compose.offline.yml up -d
	@echo "balancer: ws://127.0.0.1:8080/ws?user=NAME   nodes: :8081 :8082 :8083   dashboard: http://127.0.0.1:7070/"

down: ## stop and remove the compose cluster and its Redis volume
	$(COMPOSE) -f docker-compose.yml -f docker-compose.offline.yml down -v

load: build ## chatlab load against LOAD_ARGS (default: the balancer of make up)
	bin/chatlab load $(LOAD_ARGS)

bench-idle: build ## bytes of node memory per idle connection (IDLE_CLIENTS against one chatlab node; needs an open-files hard limit above it): RSS and Go heap+stacks
	ulimit -n $$(ulimit -Hn) && IDLE_CLIENTS=$(IDLE_CLIENTS) $(GO) test -count=1 -run '^$$' -bench BenchmarkIdleConnectionMemory -benchtime 1x -timeout 10m ./chaos/local

bench-idle-balancer: build ## bytes of balancer memory per idle proxied connection (IDLE_BALANCER_CLIENTS through a chatlab balancer to one node; needs an open-files hard limit above twice it): RSS and Go heap+stacks
	ulimit -n $$(ulimit -Hn) && IDLE_CLIENTS=$(IDLE_BALANCER_CLIENTS) $(GO) test -count=1 -run '^$$' -bench BenchmarkIdleBalancerMemory -benchtime 1x -timeout 10m ./chaos/local

# bench-joinflood: one connection floods joins and leaves at full speed
# (each join a new room) against one node on redis-server while
# JOINFLOOD_CLIENTS other users send once a second: the node's RSS and the
# others' send success and latency. JOINFLOOD_LIMITS=off runs the node with
# its abuse limits lifted, to see what they prevent.
JOINFLOOD_DURATION ?= 30s
JOINFLOOD_CLIENTS  ?= 50
JOINFLOOD_LIMITS   ?= on

bench-joinflood: build ## node RSS and other users' send success while one connection floods join/leave at full speed for JOINFLOOD_DURATION (needs redis-server)
	JOINFLOOD_DURATION=$(JOINFLOOD_DURATION) JOINFLOOD_CLIENTS=$(JOINFLOOD_CLIENTS) JOINFLOOD_LIMITS=$(JOINFLOOD_LIMITS) $(GO) test -count=1 -run '^$$' -bench BenchmarkJoinFlood -benchtime 1x -timeout 10m -v ./chaos/local | grep -E 'join flood|Benchmark|ok|FAIL'

# The dashboard (dashboard/): Node 20 and npm. `make dashboard` builds the
# app into dashboard/dist/app, which `make build` then embeds; without it
# chatlab serves a page saying how to build the app.
.PHONY: dashboard dashboard-test dashboard-e2e

dashboard: ## build the dashboard app into dashboard/dist/app
	cd dashboard && npm ci && npm run build

dashboard-test: dashboard ## the dashboard's component tests (Vitest)
	cd dashboard && npm test

dashboard-e2e: dashboard build ## end-to-end tests in headless Chromium (apt-get install chromium); screenshots in dashboard/e2e/screenshots
	cd dashboard && CHATLAB_BIN=$(CURDIR)/bin/chatlab npm run e2e

# --- Fanout: deliveries/s and latency at rising rates ---------------------
# redis-server and two chatlab nodes, real WebSocket clients from the
# benchmark's process; FANOUT_SHAPES, FANOUT_RATES, FANOUT_SECONDS,
# FANOUT_CONNS, FANOUT_BINARY and FANOUT_PROFILE=DIR tune it
# (chaos/local/fanout_bench_test.go).
.PHONY: bench-fanout

bench-goals: build ## issue figures against their goals: simulator speed, node and balancer memory per idle connection (make bench-fanout prints the fanout goals)
	$(GO) test -count=1 -run '^$$' -bench NodeRestartStory -benchtime 10x ./sim | grep -E 'goal|sim-s'
	$(MAKE) -s bench-idle | grep -E 'goal|over'
	$(MAKE) -s bench-idle-balancer | grep -E 'goal|over'

bench-fanout: ## deliveries/s and p50/p99 send-to-delivery latency per offered rate, and the saturation rate, for each shape
	ulimit -n $$(ulimit -Hn) && $(GO) test -count=1 -run '^$$' -bench BenchmarkFanout -benchtime 1x -timeout 30m ./chaos/local
