#!/usr/bin/env bash
# Installs p1logger on Raspberry Pi OS / Debian as a systemd service:
#   /opt/p1logger                        the application (bin, dist, production node_modules, page assets)
#   /etc/systemd/system/p1logger.service the unit (user p1logger, sandboxed, watchdog)
#   /etc/udev/rules.d/99-p1logger.rules  /dev/p1 for the FTDI P1 cable
#   /etc/p1logger/config.yaml, env       example configuration and secrets file, only when absent
#   /var/lib/p1logger                    the data directory
#   /usr/local/bin/p1logger              the command
# Idempotent: run it again to upgrade; your configuration and data are kept.
#
# Usage: sudo deploy/install.sh [--no-start]
#        sudo deploy/install.sh --uninstall [--purge]   (--purge also removes config, data and the user)
#        deploy/install.sh --root DIR ...               (or DESTDIR=DIR: into DIR instead of /; installs no
#                                                        packages and starts nothing: for packaging and tests)
set -euo pipefail

usage() {
  # The comment block at the top, without its "# ".
  awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"
}

ROOT="${DESTDIR:-}"
ACTION=install
PURGE=no
START=yes
while [ $# -gt 0 ]; do
  case "$1" in
    --root) ROOT="${2:?--root needs a directory}"; shift 2 ;;
    --root=*) ROOT="${1#--root=}"; shift ;;
    --uninstall) ACTION=uninstall; shift ;;
    --purge) PURGE=yes; shift ;;
    --no-start) START=no; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
ROOT="${ROOT%/}"
LIVE=no
[ -z "$ROOT" ] && LIVE=yes
if [ -n "$ROOT" ]; then
  ROOT="$(cd "$ROOT" && pwd)"
fi

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
APP="$ROOT/opt/p1logger"
UNIT="$ROOT/etc/systemd/system/p1logger.service"
RULE="$ROOT/etc/udev/rules.d/99-p1logger.rules"
ETC="$ROOT/etc/p1logger"
DATA="$ROOT/var/lib/p1logger"
LINK="$ROOT/usr/local/bin/p1logger"
SERVICE_USER=p1logger

say() { echo "p1logger install: $*"; }
die() { echo "p1logger install: $*" >&2; exit 1; }

if [ "$LIVE" = yes ] && [ "$(id -u)" -ne 0 ]; then
  die "run as root (sudo $0), or with --root DIR to install into a directory"
fi

# useradd/usermod/userdel/groupadd/systemctl act on $ROOT instead of this machine when given --root.
root_opt=()
[ "$LIVE" = no ] && root_opt=(--root "$ROOT")

user_exists() { grep -q "^$SERVICE_USER:" "$ROOT/etc/passwd" 2>/dev/null; }
group_has() { grep -Eq "^$1:[^:]*:[^:]*:(.*,)?$SERVICE_USER(,.*)?$" "$ROOT/etc/group" 2>/dev/null; }
id_of() { awk -F: -v n="$2" '$1 == n { print $3 }' "$ROOT/etc/$1"; }

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

ensure_node() {
  if [ "$(node_major)" -ge 20 ] && command -v npm >/dev/null 2>&1; then return; fi
  if [ "$LIVE" = no ]; then
    die "Node.js 20+ and npm are needed to build; install them (apt-get install nodejs npm) and rerun"
  fi
  say "installing nodejs and npm from the Debian packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  if [ "$(node_major)" -lt 20 ]; then
    die "this system's nodejs is $(node --version 2>/dev/null || echo missing); p1logger needs Node 20 or newer: Debian 13 (trixie) and Raspberry Pi OS based on it ship it"
  fi
}

build() {
  if [ ! -d "$SRC/node_modules" ]; then
    say "installing npm dependencies in $SRC (npm ci, builds dist/)"
    (cd "$SRC" && npm ci --no-audit --no-fund)
  fi
  if [ ! -f "$SRC/dist/cli.js" ]; then
    say "building dist/"
    (cd "$SRC" && npm run build)
  fi
}

# The application goes to a staging directory first and replaces the old one in one rename: an upgrade never leaves
# half an application behind.
install_app() {
  local stage="$APP.new"
  rm -rf "$stage"
  mkdir -p "$stage/src/http"
  cp -a "$SRC/package.json" "$SRC/package-lock.json" "$SRC/bin" "$SRC/dist" "$SRC/deploy" "$stage/"
  [ -f "$SRC/README.md" ] && cp -a "$SRC/README.md" "$stage/"
  [ -f "$SRC/CHANGELOG.md" ] && cp -a "$SRC/CHANGELOG.md" "$stage/"
  cp -a "$SRC/src/http/static" "$stage/src/http/"
  # Production dependencies only, copied from the checkout (no download, and the native prebuilds already match).
  local pkg rel
  while IFS= read -r pkg; do
    [ "$pkg" = "$SRC" ] && continue
    rel="${pkg#"$SRC"/}"
    mkdir -p "$stage/$(dirname "$rel")"
    rm -rf "${stage:?}/$rel"
    cp -a "$pkg" "$stage/$rel"
  done < <(cd "$SRC" && npm ls --omit=dev --all --parseable)
  chmod 0755 "$stage/bin/p1logger.js"
  rm -rf "$APP.old"
  [ -d "$APP" ] && mv "$APP" "$APP.old"
  mv "$stage" "$APP"
  rm -rf "$APP.old"
  mkdir -p "$(dirname "$LINK")"
  ln -sfn /opt/p1logger/bin/p1logger.js "$LINK"
}

ensure_user() {
  if [ "$LIVE" = no ] && [ ! -f "$ROOT/etc/passwd" ]; then
    # An empty root (a package being built): the target's users are made where it is installed, not invented here.
    say "$ROOT/etc/passwd does not exist: the user $SERVICE_USER (group dialout) is not created; on the target:" \
      "useradd --system --user-group --groups dialout --home-dir /var/lib/p1logger --shell /usr/sbin/nologin $SERVICE_USER" \
      "&& chown $SERVICE_USER: /var/lib/p1logger && chgrp $SERVICE_USER /etc/p1logger /etc/p1logger/config.yaml"
    return
  fi
  if ! grep -q '^dialout:' "$ROOT/etc/group" 2>/dev/null; then
    groupadd "${root_opt[@]}" --system dialout
  fi
  if ! user_exists; then
    say "creating system user $SERVICE_USER (in dialout)"
    useradd "${root_opt[@]}" --system --user-group --home-dir /var/lib/p1logger --no-create-home \
      --shell /usr/sbin/nologin --comment "p1logger datalogger" --groups dialout "$SERVICE_USER"
  elif ! group_has dialout; then
    usermod "${root_opt[@]}" -a -G dialout "$SERVICE_USER"
  fi
}

install_files() {
  install -D -m 0644 "$SRC/deploy/p1logger.service" "$UNIT"
  install -D -m 0644 "$SRC/deploy/99-p1logger.rules" "$RULE"
  # Ownership needs root and the service user; an unprivileged or user-less --root install leaves it to the package.
  local as_root=() as_group=() as_user=()
  if [ "$(id -u)" -eq 0 ]; then
    as_root=(-o 0 -g 0)
    as_group=("${as_root[@]}")
    if user_exists; then
      local uid gid
      uid="$(id_of passwd "$SERVICE_USER")"
      gid="$(id_of group "$SERVICE_USER")"
      as_group=(-o 0 -g "$gid")
      as_user=(-o "$uid" -g "$gid")
    fi
  fi
  # Config readable by the service, writable by root only; secrets (env) by root only.
  install -d -m 0750 "${as_group[@]}" "$ETC"
  if [ ! -e "$ETC/config.yaml" ]; then
    install -m 0640 "${as_group[@]}" "$SRC/deploy/config.example.yaml" "$ETC/config.yaml"
    say "wrote an example configuration to /etc/p1logger/config.yaml"
  fi
  if [ ! -e "$ETC/env" ]; then
    install -m 0600 "${as_root[@]}" "$SRC/deploy/p1logger.env.example" "$ETC/env"
  fi
  install -d -m 0750 "${as_user[@]}" "$DATA"
}

activate() {
  if [ "$LIVE" = no ]; then
    systemctl --root="$ROOT" enable p1logger.service >/dev/null 2>&1 || say "systemctl --root not available; enable p1logger.service yourself"
    return
  fi
  udevadm control --reload-rules || true
  udevadm trigger --subsystem-match=tty --action=add || true
  systemctl daemon-reload
  systemctl enable p1logger.service
  if [ "$START" = yes ]; then
    systemctl restart p1logger.service
    say "started; status: systemctl status p1logger; logs: journalctl -u p1logger -f"
  fi
}

uninstall() {
  if [ "$LIVE" = yes ]; then
    systemctl disable --now p1logger.service 2>/dev/null || true
  elif [ -f "$UNIT" ]; then
    systemctl --root="$ROOT" disable p1logger.service >/dev/null 2>&1 || true
  fi
  rm -f "$UNIT" "$RULE"
  [ -L "$LINK" ] && rm -f "$LINK"
  rm -rf "$APP" "$APP.new" "$APP.old"
  if [ "$LIVE" = yes ]; then
    systemctl daemon-reload
    udevadm control --reload-rules || true
  fi
  if [ "$PURGE" = yes ]; then
    rm -rf "$ETC" "$DATA"
    if user_exists; then userdel "${root_opt[@]}" "$SERVICE_USER"; fi
    say "removed, with /etc/p1logger, /var/lib/p1logger and the user $SERVICE_USER"
  else
    say "removed; kept /etc/p1logger, /var/lib/p1logger (your data) and the user $SERVICE_USER (--purge removes them)"
  fi
}

if [ "$ACTION" = uninstall ]; then
  uninstall
  exit 0
fi

ensure_node
build
ensure_user
install_app
install_files
activate
say "installed into ${ROOT:-/}. Next: edit /etc/p1logger/config.yaml (secrets in /etc/p1logger/env),"
say "check it with: p1logger config check /etc/p1logger/config.yaml, then: systemctl restart p1logger"
say "status page: http://127.0.0.1:8080 (on the Pi; see README for remote access)"
