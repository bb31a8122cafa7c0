#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Installs the test-only npm packages (playwright-core, ws) from the
# committed package-lock.json into tests/browser/node_modules, once: a stamp
# holding the lock file's hash makes later runs a no-op, and a lock keeps two
# ctest runs (dev and asan builds) from installing over each other.
# PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: the tests use Debian's /usr/bin/chromium,
# never a downloaded browser.
set -eu
cd "$(dirname "$0")"
exec 9>"${TMPDIR:-/tmp}/nimbus-browser-npm-ci.lock"
flock 9
want=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.nimbus-lock-sha256
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "node_modules matches package-lock.json"
else
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
    echo "$want" >"$stamp"
fi
# Prove the packages load, so a broken install fails here and not later.
node -e "require('playwright-core'); require('ws'); console.log('playwright-core and ws load')"
