# make bench: timings of the shim and vaultd against bare runs measured in
# the same run (interleaved, medians). Included from the Makefile; writes
# $(BUILD)/bench/results.txt and prints it. Never part of `make test`.
BENCH_DIR := $(BUILD)/bench

.PHONY: bench bench-load
bench: all $(BENCH_DIR)/vsbench $(BENCH_DIR)/faults $(BENCH_DIR)/vsbench-floor $(BENCH_DIR)/vsbench-fill $(BENCH_DIR)/vsbench-mask $(BENCH_DIR)/empty.so $(HELPER_BINS)
	@VS_BUILD=$(abspath $(BUILD)) tests/bench/run.sh
	@VS_BUILD=$(abspath $(BUILD)) tests/bench/load.sh

# The launchers in stable measures (instructions, system calls, page faults)
# and interleaved wall time; OLD=path/to/vaultctl compares an older one.
.PHONY: bench-launchers
bench-launchers: all $(BENCH_DIR)/vsbench
	@VS_BUILD=$(abspath $(BUILD)) tests/bench/launchers.sh $(OLD)

# 16 clients x 100,000 grants (LOAD_CLIENTS, LOAD_PER_CLIENT): latency
# percentiles, vaultd's RSS and fds before and after.
bench-load: all $(BENCH_DIR)/vsbench
	@VS_BUILD=$(abspath $(BUILD)) tests/bench/load.sh

$(BENCH_DIR)/vsbench: tests/bench/vsbench.c $(VS_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(HARDEN_LD) $(LDFLAGS) -o $@ $< $(VS_LIBS) $(PKG_LIBS)

$(BENCH_DIR)/vsbench-floor: tests/bench/vsbench-floor.c $(VS_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(HARDEN_LD) $(LDFLAGS) -o $@ $< $(VS_LIBS) $(PKG_LIBS)

$(BENCH_DIR)/vsbench-mask: tests/bench/vsbench-mask.c $(VS_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(HARDEN_LD) $(LDFLAGS) -o $@ $< $(VS_LIBS) $(PKG_LIBS)

$(BENCH_DIR)/vsbench-fill: tests/bench/vsbench-fill.c $(VS_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(HARDEN_LD) $(LDFLAGS) -o $@ $< $(VS_LIBS) $(PKG_LIBS)

$(BENCH_DIR)/faults: tests/bench/faults.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(HARDEN_LD) $(LDFLAGS) -o $@ $<

# Linked against libc on purpose (--no-as-needed): the floor is a
# libc-linked preload, like the shim.
$(BENCH_DIR)/empty.so: tests/bench/empty.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -shared -o $@ $< -Wl,--no-as-needed -lc
