#!/usr/bin/env bash
# Installs what the browser tests need, when missing: Debian's chromium
# and playwright-core (from package-lock.json) for tests/browser/run.mjs.
# Idempotent; run as root (CI is root).
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -x /usr/bin/chromium ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk >/dev/null
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
if [ ! -d node_modules/playwright-core ]; then
  npm ci --no-audit --no-fund --silent
fi
echo "browser tests ready: $(/usr/bin/chromium --version 2>/dev/null | head -1), node $(node --version)"
