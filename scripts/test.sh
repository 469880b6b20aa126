#!/usr/bin/env bash
# Everything CI checks, in the order a developer wants to hear about failures: the README's
# "test" command, and what .ci/run executes.
#
#   scripts/test.sh
#
# Steps: Debian/npm dependencies, UI build and type check, rustfmt, clippy, the Rust tests, the UI
# tests (Vitest, then end to end in Chromium), and the real app: two instances under Xvfb, driven
# over WebDriver (one hosts the relay and scans, the other pairs with it and sees the scan). A failing
# step does not stop the later ones (except the first two, which the rest need); the last line
# counts passed and failed steps, and the exit status is non-zero if any failed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# One target directory for every run and every checkout, so repeated runs reuse the build.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/gerbang-target}"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

passed=0
failed=0
failures=()
started=$SECONDS

section() {
    echo
    echo "=== $* ==="
}

# step NAME COMMAND...: runs one check, reports its time, and counts it.
step() {
    local name="$1" t0=$SECONDS
    shift
    section "$name"
    if "$@"; then
        passed=$((passed + 1))
        echo "--- ok: $name ($((SECONDS - t0))s)"
    else
        failed=$((failed + 1))
        failures+=("$name")
        echo "--- FAILED: $name ($((SECONDS - t0))s)"
    fi
}

# required NAME COMMAND...: a step the rest depend on; stop at once when it fails.
required() {
    step "$@"
    if [ "$failed" -gt 0 ]; then
        echo
        echo "stopped: the later steps need \"$1\""
        echo "summary: $passed passed, $failed failed"
        exit 1
    fi
}

ui_build() { (cd ui && npm run --silent build -- --logLevel warn); }
# svelte-check colours its last line and leaves the colour reset on the next one; plain is tidier.
ui_check() { (cd ui && NO_COLOR=1 npm run --silent check); }
ui_test() { (cd ui && npm test --silent); }
# The built UI in Debian's Chromium with a fake back end; its screenshots go to a temporary
# folder here (`npm run test:e2e` in ui/ refreshes the ones in docs/screenshots).
ui_e2e() {
    (cd ui && GERBANG_SCREENSHOTS="${TMPDIR:-/tmp}/gerbang-ui-screenshots" npm run --silent e2e)
}

app_webdriver() {
    # gerbang-app's integration tests make `cargo test --workspace` build the real `gerbang`
    # binary, with the same dependency features as the rest of the test build; `--no-run` only
    # makes sure it is current. If some other crate does not compile, build the app on its own
    # (slower: different features mean different dependency builds) so this step still reports
    # on the app itself.
    if ! cargo test --workspace --no-run --quiet 2>/dev/null; then
        echo "webdriver: the workspace does not build; building gerbang-app alone"
        cargo build -p gerbang-app || return 1
    fi
    scripts/webdriver.sh "${GERBANG_WEBDRIVER_SHOTS:-}"
}

required "dependencies (scripts/deps.sh)" scripts/deps.sh
# The Tauri crate embeds ui/dist at compile time, so the UI is built before any cargo step.
required "ui: build (vite)" ui_build
step "ui: type check (svelte-check)" ui_check
step "rust: format (cargo fmt --check)" cargo fmt --all --check
step "rust: lint (cargo clippy)" cargo clippy --workspace --all-targets -- -D warnings
step "rust: tests (cargo test --workspace)" cargo test --workspace
step "ui: tests (vitest)" ui_test
step "ui: end-to-end tests (Chromium)" ui_e2e
step "app: two real app instances over WebDriver (Xvfb)" app_webdriver

echo
if [ "$failed" -gt 0 ]; then
    echo "failed steps: ${failures[*]}"
fi
echo "took $((SECONDS - started))s"
echo "summary: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
