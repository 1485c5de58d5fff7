#!/usr/bin/env bash
# Install Chromium with apt-get when primer-site finds none (it renders a volume's PDF, `books: {pdf: true}`, with
# any Chromium or Chrome on PATH, or PRIMER_SITE_CHROMIUM). The README's first command and the publish workflow
# run this; .ci/run installs Debian's chromium itself, which the browser tests open.
set -euo pipefail
if [ -n "${PRIMER_SITE_CHROMIUM:-}" ]; then
  exit 0  # primer-site is told where its Chromium is
fi
for program in chromium chromium-browser google-chrome google-chrome-stable; do
  if command -v "$program" >/dev/null 2>&1; then
    exit 0
  fi
done
if ! command -v apt-get >/dev/null 2>&1; then
  echo "Chromium is missing: install it with your system's package manager, or set PRIMER_SITE_CHROMIUM=/path/to/chromium" >&2
  exit 1
fi
echo "== installing chromium (apt-get)"
if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
