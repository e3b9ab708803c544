#!/usr/bin/env bash
# Prepares the portal's browser tests (tests/tests/e2e/portal_browser.rs):
# Debian's Chromium at /usr/bin/chromium, and playwright-core and axe-core
# from package-lock.json in tests/browser/node_modules. Idempotent: does
# only what is missing or stale, and says what it did. Needs apt-get (root,
# or sudo) only when Chromium is missing; never downloads a browser through
# playwright.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

as_root() {
    if [[ $(id -u) == 0 ]]; then
        "$@"
    elif command -v sudo > /dev/null; then
        sudo "$@"
    else
        echo "setup.sh: $* needs root, and there is no sudo" >&2
        return 1
    fi
}

if [[ -x /usr/bin/chromium ]]; then
    echo "browser: /usr/bin/chromium is installed"
else
    echo "browser: installing Debian's chromium"
    export DEBIAN_FRONTEND=noninteractive
    if ! as_root apt-get install -y --no-install-recommends chromium; then
        echo "browser: install failed; apt-get update, then again"
        as_root apt-get update
        as_root apt-get install -y --no-install-recommends chromium
    fi
fi

modules="$here/node_modules"
if [[ -d $modules && $modules -nt $here/package-lock.json && -d $modules/playwright-core && -d $modules/axe-core ]]; then
    echo "browser: $modules is up to date with package-lock.json"
else
    echo "browser: npm ci in $here"
    (cd "$here" && npm ci --no-audit --no-fund)
    # npm ci may keep the folder's old time: mark it newer than the lock.
    touch "$modules"
fi
