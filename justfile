# yearbook tasks. `just` lists them.

default:
    @just --list

# Run the nightly pipeline on the bundled sample data into out/.
run:
    cargo run --release -- run

# All tests (what CI runs).
test:
    cargo test

# Formatting, lints as errors, tests.
check:
    cargo fmt --check
    cargo clippy --all-targets -- -D warnings
    cargo test

# Regenerate tests/golden/ after a deliberate change of outputs; review the diff.
bless:
    YEARBOOK_BLESS=1 cargo test golden

# Compare with DuckDB and polars on ../shared/bench input (scale s, m or l).
bench scale="m" runs="5":
    #!/usr/bin/env bash
    set -euo pipefail
    cargo build --release
    target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
    here={{justfile_directory()}}
    cd ../shared/bench
    ./run_bench.sh --scale {{scale}} --runs {{runs}} --name yearbook --ok-exit 0,1 \
        --cmd "$target/release/yearbook run -q --pipeline $here/pipelines/bench.toml --input {in}/submissions --catalog {in}/catalog.csv --agencies {in}/agencies.csv --out {out}"

# Fuzz one target with libFuzzer (nightly and `cargo install cargo-fuzz`):
# ingest, sources, workbook (under a 1 GiB memory limit) or cache.
fuzz target="ingest" minutes="30":
    # New inputs go to a corpus outside the clone; the committed one seeds it.
    mkdir -p "$HOME/.cache/yearbook/fuzz-corpus/{{target}}"
    cd fuzz && cargo +nightly fuzz run -s none {{target}} "$HOME/.cache/yearbook/fuzz-corpus/{{target}}" corpus/{{target}} -- \
        -max_total_time=$(({{minutes}} * 60)) -max_len=65536 -rss_limit_mb={{ if target == "cache" { "2048" } else { "1024" } }}
