#!/bin/sh
# Installs (or removes) bitcoin-price-scraper from an unpacked release tarball.
# Run it from anywhere: it finds its files next to itself. See --help.
set -eu

NAME=bitcoin-price-scraper
DEFAULT_PREFIX=/opt/$NAME
UNIT=$NAME.service

usage() {
  cat <<USAGE
usage: ./install.sh [--uninstall [--purge]] [--help]

Installs bitcoin-price-scraper from this unpacked tarball:
  \$PREFIX/bin/                      the daemon and libe_sqlite3.so
  \$PREFIX/share/prometheus/         scrape config and alert rules
  \$PREFIX/share/grafana/            datasource, dashboard provider and dashboard
  \$PREFIX/share/doc/$NAME/  README.md, LICENSE
  /etc/$NAME/config.json     only if absent (mode 0640); config.example.json is refreshed
  /etc/$NAME/credentials/    optional API keys (mode 0700): upbit-access-key, upbit-secret-key
  /etc/systemd/system/$UNIT
Then runs 'systemctl daemon-reload' when systemd is running. It does not enable or start the
service: run 'systemctl enable --now $NAME' yourself. Running it again upgrades in place and
never touches config.json, the credentials or the database.

  --uninstall   stop and disable the service, remove the program files and the unit; keep
                /etc/$NAME, unit drop-ins and the database in /var/lib/$NAME
                (run it with the PREFIX used to install)
  --purge       with --uninstall: also remove /etc/$NAME, the drop-ins and
                /var/lib/$NAME (the database)
  --help        this text

Environment:
  PREFIX    installation directory, default $DEFAULT_PREFIX (a directory of its own:
            the unit's ExecStart= is rewritten to point into it)
  DESTDIR   stage everything below this directory instead of / (packaging, tests); no root
            needed and systemctl is never called
USAGE
}

die() {
  echo "install.sh: $*" >&2
  exit 1
}

uninstall=0
purge=0
for arg in "$@"; do
  case $arg in
    --uninstall) uninstall=1 ;;
    --purge) purge=1 ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      echo "install.sh: unknown option '$arg'" >&2
      usage >&2
      exit 2
      ;;
  esac
done
[ "$purge" = 0 ] || [ "$uninstall" = 1 ] || die "--purge only goes with --uninstall"

PREFIX=${PREFIX:-$DEFAULT_PREFIX}
DESTDIR=${DESTDIR:-}
# The prefix ends up in ExecStart= and in sed replacements: keep it to plain path characters.
case $PREFIX in
  /*) ;;
  *) die "PREFIX must be an absolute path, got '$PREFIX'" ;;
esac
case $PREFIX in
  *[!A-Za-z0-9._/+-]*) die "PREFIX may only contain letters, digits and . _ / + -, got '$PREFIX'" ;;
esac
PREFIX=$(printf '%s\n' "$PREFIX" | sed 's:/*$::')
[ -n "$PREFIX" ] || die "PREFIX must not be /"

if [ -z "$DESTDIR" ] && [ "$(id -u)" != 0 ]; then
  die "must run as root (or set DESTDIR to stage the files into a directory)"
fi

here=$(cd "$(dirname "$0")" && pwd)
root=$DESTDIR
etc=$root/etc/$NAME
unit_path=$root/etc/systemd/system/$UNIT
manifest=$root$PREFIX/share/$NAME.manifest
# Only the real system, never a staging directory, is told about the change.
live_systemd=0
if [ -z "$DESTDIR" ] && [ -d /run/systemd/system ]; then
  live_systemd=1
fi
umask 022

# Removes the files a previous installation listed in its manifest (absolute paths below
# DESTDIR), then the directories that became empty, up to and including PREFIX. Only listed
# files are removed, so a PREFIX shared with other software keeps that software's files.
remove_installed_files() {
  [ -f "$manifest" ] || return 0
  dirs=$(
    while IFS= read -r path; do
      [ -n "$path" ] || continue
      rm -f "$root$path"
      dir=${path%/*}
      while [ -n "$dir" ] && [ "$dir" != "$PREFIX" ]; do
        echo "$dir"
        dir=${dir%/*}
      done
    done <"$manifest" | sort -u -r
  )
  rm -f "$manifest"
  for dir in $dirs; do
    rmdir "$root$dir" 2>/dev/null || true
  done
  rmdir "$root$PREFIX/share" "$root$PREFIX" 2>/dev/null || true
}

# install_file SRC DEST MODE: copies one file and records it in the new manifest.
install_file() {
  install -D -m "$3" "$1" "$root$2"
  echo "$2" >>"$manifest.new"
}

# install_tree SRC_DIR DEST_DIR: copies a folder's files (0644) keeping its layout.
install_tree() {
  (cd "$1" && find . -type f | sort) | while IFS= read -r rel; do
    rel=${rel#./}
    install_file "$1/$rel" "$2/$rel" 0644
  done
}

do_install() {
  [ -f "$here/bin/$NAME" ] || die "$here/bin/$NAME not found: run install.sh from the unpacked tarball"
  [ -f "$here/systemd/$UNIT" ] || die "$here/systemd/$UNIT not found: run install.sh from the unpacked tarball"

  # Upgrade: drop the previous version's files first, so files a new version no longer ships
  # do not linger. The running daemon keeps its (unlinked) binary until it is restarted.
  remove_installed_files
  install -d -m 0755 "$root$PREFIX/share"
  : >"$manifest.new"

  install_file "$here/bin/$NAME" "$PREFIX/bin/$NAME" 0755
  for lib in "$here"/bin/*.so; do
    [ -f "$lib" ] || continue
    install_file "$lib" "$PREFIX/bin/${lib##*/}" 0644
  done
  for dir in prometheus grafana; do
    if [ -d "$here/$dir" ]; then
      install_tree "$here/$dir" "$PREFIX/share/$dir"
    fi
  done
  # The dashboard provider names the default prefix too.
  for provider in "$root$PREFIX"/share/grafana/provisioning/dashboards/*.yml; do
    if [ -f "$provider" ]; then
      sed -i "/^ *path:/s:$DEFAULT_PREFIX/:$PREFIX/:" "$provider"
    fi
  done
  for doc in README.md LICENSE config.example.json; do
    if [ -f "$here/$doc" ]; then
      install_file "$here/$doc" "$PREFIX/share/doc/$NAME/$doc" 0644
    fi
  done
  mv "$manifest.new" "$manifest"

  # Configuration: never overwrite the administrator's config.json, always refresh the example.
  install -d -m 0755 "$etc"
  if [ -f "$here/config.example.json" ]; then
    install -m 0644 "$here/config.example.json" "$etc/config.example.json"
    if [ ! -e "$etc/config.json" ]; then
      install -m 0640 "$here/config.example.json" "$etc/config.json"
    fi
  fi
  # Keys are optional (the unit starts without them); this is where they go when wanted.
  install -d -m 0700 "$etc/credentials"
  chmod 0700 "$etc/credentials"

  # The unit names the default prefix; point it at this one.
  install -d -m 0755 "$root/etc/systemd/system"
  sed -e "/^ExecStart=/s:$DEFAULT_PREFIX/:$PREFIX/:" \
    -e "/^Documentation=/s:$DEFAULT_PREFIX/:$PREFIX/:" \
    "$here/systemd/$UNIT" >"$unit_path.new"
  chmod 0644 "$unit_path.new"
  mv "$unit_path.new" "$unit_path"

  if [ "$live_systemd" = 1 ]; then
    systemctl daemon-reload
  fi

  echo "Installed $NAME into $root$PREFIX."
  if [ -z "$DESTDIR" ]; then
    echo "Edit /etc/$NAME/config.json, then: systemctl enable --now $NAME"
    echo "After an upgrade: systemctl try-restart $NAME"
  fi
}

do_uninstall() {
  if [ "$live_systemd" = 1 ]; then
    systemctl disable --now "$UNIT" 2>/dev/null || true
  fi
  rm -f "$unit_path" "$root/etc/systemd/system/multi-user.target.wants/$UNIT"
  remove_installed_files
  if [ "$purge" = 1 ]; then
    # Drop-ins (systemctl edit) are configuration too. DynamicUser=yes keeps the data in
    # /var/lib/private/NAME; /var/lib/NAME is a symlink to it.
    rm -rf "$etc" "$root/etc/systemd/system/$UNIT.d" \
      "$root/var/lib/$NAME" "$root/var/lib/private/$NAME"
  fi
  if [ "$live_systemd" = 1 ]; then
    systemctl daemon-reload
    systemctl reset-failed "$UNIT" 2>/dev/null || true
  fi

  if [ "$purge" = 1 ]; then
    echo "Removed $NAME, its configuration and its database."
  else
    echo "Removed $NAME. Kept $etc and the database in $root/var/lib/$NAME."
  fi
}

if [ "$uninstall" = 1 ]; then
  do_uninstall
else
  do_install
fi
