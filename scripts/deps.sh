#!/usr/bin/env bash
# Installs what building, running and testing Gerbang needs on a Debian or Ubuntu machine, and
# only what is missing. Safe to run again and again: when everything is there it prints nothing.
#
# * Debian packages: WebKitGTK and friends for the Tauri app, Xvfb and X tools for the headless
#   app test, ImageMagick for screenshots and icons, libclang for the camera's V4L2 bindings
#   (bindgen), Chromium for the UI's end-to-end tests (driven by playwright-core, which never
#   downloads a browser of its own). Serial scanners need no libudev: ports are listed from /sys.
#   Installed with apt-get as root, through
#   `sudo` when that works without a prompt (or with one on a terminal), else the exact command
#   is printed and the script fails.
# * cargo, node and npm must already be there (rustup; Node.js 20.19+ or 22.12+); they are checked,
#   not installed.
# * ui/node_modules: `npm ci` when it is missing or older than ui/package-lock.json.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

packages=(
    build-essential pkg-config libssl-dev libclang-dev
    libwebkit2gtk-4.1-dev librsvg2-dev
    xvfb xauth x11-utils webkit2gtk-driver imagemagick
    chromium
)

say() { echo "deps: $*"; }
die() {
    echo "deps: $*" >&2
    exit 1
}

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

# --- Debian packages ---------------------------------------------------------------------------
if command -v dpkg-query >/dev/null 2>&1; then
    missing=()
    for p in "${packages[@]}"; do
        installed "$p" || missing+=("$p")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        say "missing Debian packages: ${missing[*]}"
        install_cmd=(apt-get install -y "${missing[@]}")
        if [ "$(id -u)" -eq 0 ]; then
            sudo=()
        elif command -v sudo >/dev/null 2>&1 && { sudo -n true 2>/dev/null || [ -t 0 ]; }; then
            sudo=(sudo)
        else
            die "cannot install them without root. Run:
    sudo apt-get update && sudo ${install_cmd[*]}"
        fi
        export DEBIAN_FRONTEND=noninteractive
        "${sudo[@]}" apt-get update -qq
        "${sudo[@]}" "${install_cmd[@]}"
    fi
else
    say "not a Debian-like system (no dpkg-query); install these by hand: ${packages[*]}"
fi

# --- Toolchains --------------------------------------------------------------------------------
command -v cargo >/dev/null 2>&1 ||
    die "cargo not found. Install Rust with rustup (https://rustup.rs), then open a new shell."
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    die "node and npm not found. Install Node.js 20.19+ or 22.12+ (Vite 7 needs one of them)."
fi

node_version="$(node --version)" # e.g. v20.20.2
IFS=. read -r node_major node_minor _ <<<"${node_version#v}"
# Vite 7's own requirement: ^20.19.0 || >=22.12.0.
if ! { [ "$node_major" -eq 20 ] && [ "$node_minor" -ge 19 ]; } &&
    ! { [ "$node_major" -eq 22 ] && [ "$node_minor" -ge 12 ]; } &&
    ! [ "$node_major" -ge 23 ]; then
    die "Node.js $node_version is too old for Vite 7: install 20.19+ or 22.12+."
fi

# --- tauri-driver --------------------------------------------------------------------------------
# The WebDriver test of the real app (scripts/webdriver.sh) drives it through tauri-driver, which
# starts WebKitWebDriver (Debian's webkit2gtk-driver). It is a small cargo install, once.
if ! command -v tauri-driver >/dev/null 2>&1; then
    say "installing tauri-driver (cargo install tauri-driver --locked)"
    cargo install tauri-driver --locked --quiet
fi

# --- Front-end packages ------------------------------------------------------------------------
# npm writes node_modules/.package-lock.json on every install, so it dates the installed tree.
ui="$root/ui"
if [ ! -f "$ui/node_modules/.package-lock.json" ] ||
    [ "$ui/package-lock.json" -nt "$ui/node_modules/.package-lock.json" ]; then
    say "installing ui/node_modules (npm ci)"
    (cd "$ui" && npm ci --no-audit --no-fund --loglevel=error)
fi
