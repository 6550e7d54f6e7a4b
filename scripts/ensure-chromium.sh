#!/usr/bin/env bash
# Installs Debian's Chromium for the connection-form browser test when it is missing.
# Playwright drives this binary, so no browser download is needed.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: /usr/bin/chromium is missing and cannot be installed here (needs root and apt-get);" \
        "the browser test will be skipped." >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
