#!/usr/bin/env bash
# Installs, from Debian's packages, the real programs the test suite runs against:
# socat (pseudo-terminals for serial tests), InfluxDB 1.x, VictoriaMetrics, Chromium
# (status page), shellcheck and systemd-analyze (deploy files), udev (serial port listing), prometheus
# (its promtool checks the /metrics text format), e2fsprogs, util-linux and mount (small ext4 and tmpfs filesystems
# for the full-disk tests), jq (a README command line pipes into it), mosquitto and openssl (MQTT broker with a
# self-signed CA).
# Idempotent; needs root (or sudo) on Debian / Raspberry Pi OS.
set -euo pipefail
packages=(socat influxdb victoria-metrics chromium shellcheck systemd udev prometheus e2fsprogs util-linux mount jq mosquitto openssl)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  echo "installing: ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  # The Debian packages start their own daemons on default ports; the tests run private instances instead.
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
for svc in influxdb victoria-metrics prometheus mosquitto; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl stop "$svc" || true
  fi
done
