#!/usr/bin/env bash
# Builds and starts the Gerbang desktop app: the README's "run" command.
#
#   scripts/run.sh [app arguments...]
#
# Needs a graphical session (DISPLAY or WAYLAND_DISPLAY). Without one, run it inside a virtual
# X server:  xvfb-run -a scripts/run.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/gerbang-target}"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"

"$root/scripts/deps.sh"

# The app embeds ui/dist at compile time, so the UI is built first.
(cd "$root/ui" && npm run --silent build -- --logLevel warn)
(cd "$root" && cargo build -p gerbang-app)

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
    echo "run: no display: neither DISPLAY nor WAYLAND_DISPLAY is set, so the window has nowhere to open." >&2
    echo "run: start it in a virtual X server instead:  xvfb-run -a scripts/run.sh" >&2
    exit 1
fi

exec "$CARGO_TARGET_DIR/debug/gerbang" "$@"
