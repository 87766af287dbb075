#!/usr/bin/env bash
# Installs a PvDrm release on this machine; nothing here needs the .NET SDK.
#
#   sudo deploy/install.sh --package dist/pvdrm-host_0.9.0_amd64.deb   # dpkg -i (and pvdrm-guest's .deb likewise)
#   sudo deploy/install.sh --package dist/pvdrm-0.9.0-linux-x64.tar.gz # the tarball: both executables and units
#   sudo ./install.sh                                                   # from inside an unpacked tarball
#   deploy/install.sh --package FILE.tar.gz --destdir /tmp/stage        # stage the files only: no user, no systemctl
#   sudo deploy/install.sh --from-source                                # in a checkout: deploy/package.sh for this machine, then the tarball
#
# A tarball installs /usr/lib/pvdrm (pvdrm-host, pvdrm-guest, libpvdrm_shim.so), links in
# /usr/bin, the units in /lib/systemd/system, the sample configuration in /etc/pvdrm (never over
# an existing file), empty secret files for LoadCredential= (root's, 0600), and the system user
# pvdrm (in group render, for the host's DRM nodes). Then: systemctl enable --now pvdrm-host.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

package=""
destdir=""
source=no
while [ $# -gt 0 ]; do
  case "$1" in
    --package) package="$2"; shift 2 ;;
    --destdir) destdir="$2"; shift 2 ;;
    --from-source) source=yes; shift ;;
    *) echo "usage: $0 [--package FILE.deb|FILE.tar.gz] [--destdir DIR] [--from-source]" >&2; exit 2 ;;
  esac
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ "$source" = yes ]; then
  case "$(uname -m)" in x86_64) rid=linux-x64 ;; aarch64) rid=linux-arm64 ;; *) echo "install.sh: no release for $(uname -m)" >&2; exit 2 ;; esac
  "$here/package.sh" --rid "$rid" --out "$work/dist"
  package=$(ls "$work"/dist/pvdrm-*-"$rid".tar.gz)
fi

case "$package" in
  *.deb)
    [ -z "$destdir" ] || { echo "install.sh: --destdir is for tarballs; unpack a .deb with dpkg-deb -x" >&2; exit 2; }
    dpkg -i "$package"
    exit 0 ;;
  *.tar.gz)
    tar -xzf "$package" -C "$work"
    tree=$(echo "$work"/pvdrm-*/) ;;
  "")
    # Run from an unpacked tarball: the tree is beside this script.
    [ -d "$here/usr/lib/pvdrm" ] || { echo "install.sh: give --package FILE (.deb or .tar.gz), or --from-source in a checkout" >&2; exit 2; }
    tree="$here/" ;;
  *) echo "install.sh: $package is neither a .deb nor a .tar.gz" >&2; exit 2 ;;
esac

root="${destdir:-}"
install -d -m 0755 "$root/usr/lib/pvdrm" "$root/usr/bin" "$root/lib/systemd/system" "$root/etc/pvdrm"
cp -a "$tree/usr/lib/pvdrm/." "$root/usr/lib/pvdrm/"
for exe in pvdrm-host pvdrm-guest; do ln -sfn ../lib/pvdrm/$exe "$root/usr/bin/$exe"; done
install -m 0644 "$tree"/lib/systemd/system/pvdrm-*.service "$root/lib/systemd/system/"
install -d "$root/usr/share/doc"
cp -a "$tree/usr/share/doc/." "$root/usr/share/doc/"
for f in pvdrm-host.hocon pvdrm-guest.hocon; do
  [ -e "$root/etc/pvdrm/$f" ] || install -m 0644 "$tree/etc/pvdrm/$f" "$root/etc/pvdrm/$f"
done
# The secrets the units pass with LoadCredential= must exist; empty means none.
for f in tokens guest.token; do
  [ -e "$root/etc/pvdrm/$f" ] || install -m 0600 /dev/null "$root/etc/pvdrm/$f"
done

if [ -n "$destdir" ]; then
  echo "staged in $destdir"
  exit 0
fi

if ! id pvdrm >/dev/null 2>&1; then
  useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin pvdrm
fi
# The host's user must read the DRM render nodes for device = auto or a node path.
if getent group render >/dev/null; then usermod -a -G render pvdrm; fi
if [ -d /run/systemd/system ]; then systemctl daemon-reload; else echo "systemd is not running here: start /usr/bin/pvdrm-host serve by hand"; fi
echo "installed $(/usr/bin/pvdrm-host --version) in /usr/lib/pvdrm; configuration in /etc/pvdrm"
echo "check: pvdrm-host config check --config /etc/pvdrm/pvdrm-host.hocon"
echo "host:  systemctl enable --now pvdrm-host   then  pvdrm-host status --config /etc/pvdrm/pvdrm-host.hocon"
echo "guest: systemctl enable --now pvdrm-guest  (inside the guest)"
