#!/usr/bin/env bash
# Installs what the web tests (tests/web/) need, when missing: Debian's chromium,
# node and npm (only when there is no node at all: a preinstalled Node must not be
# replaced by Debian's, whose npm breaks against it), and tests/web/node_modules
# (npm ci, when missing or older than package-lock.json).
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  sudo="sudo"
fi

packages=()
if [[ ! -x /usr/bin/chromium ]]; then
  packages+=(chromium)
fi
if ! command -v node >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi
if ((${#packages[@]} > 0)); then
  echo "gmr: installing ${packages[*]} for the web tests" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}"
fi

# @redocly/cli 2.77.0 needs Node >= 20.19 (Debian 12's nodejs is 18).
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number);
              process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; then
  echo "gmr: warning: node $(node --version) is older than 20.19; web_lint will fail" >&2
fi

web=tests/web
if [[ ! -f $web/node_modules/.package-lock.json ||
      $web/package-lock.json -nt $web/node_modules/.package-lock.json ||
      $web/package.json -nt $web/node_modules/.package-lock.json ]]; then
  echo "gmr: npm ci in $web" >&2
  (cd "$web" && npm ci --no-audit --no-fund --loglevel=error)
  touch "$web/node_modules/.package-lock.json"
fi
