#!/usr/bin/env bash
# Installs PvDrm on this machine: both executables (self-contained in one folder, the .NET
# runtime is still needed) in /opt/pvdrm, the sample configuration in /etc/pvdrm (never over an
# existing file), the systemd units, and a system user `pvdrm`.
#
#   sudo deploy/install.sh                 # then: systemctl enable --now pvdrm-host
#   deploy/install.sh --destdir /tmp/stage # stage the files only: no user, no systemctl
set -euo pipefail
cd "$(dirname "$0")/.."

destdir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --destdir) destdir="$2"; shift 2 ;;
    *) echo "usage: $0 [--destdir DIR]" >&2; exit 2 ;;
  esac
done

prefix="$destdir/opt/pvdrm"
etc="$destdir/etc/pvdrm"
units="$destdir/etc/systemd/system"

# pvdrm-host's project references pvdrm-guest, so one publish brings both.
dotnet publish PvDrm.Host/PvDrm.Host.csproj -c Release -o "$prefix" --nologo -v q
install -m 0644 README.md "$prefix/README.md"

install -d -m 0755 "$etc" "$units"
for f in pvdrm-host.hocon pvdrm-guest.hocon; do
  [ -e "$etc/$f" ] || install -m 0644 "deploy/$f" "$etc/$f"
done
install -m 0644 deploy/systemd/pvdrm-host.service deploy/systemd/pvdrm-guest.service "$units/"

if [ -n "$destdir" ]; then
  echo "staged in $destdir"
  exit 0
fi

if ! id pvdrm >/dev/null 2>&1; then
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin pvdrm
fi
# The host's user must read the DRM render nodes for device = auto or a node path.
getent group render >/dev/null && usermod -a -G render pvdrm
systemctl daemon-reload 2>/dev/null || echo "systemd is not running here: start the executables in $prefix by hand"
echo "installed in $prefix; configuration in $etc"
echo "host:  systemctl enable --now pvdrm-host   then  $prefix/pvdrm-host status --config $etc/pvdrm-host.hocon"
echo "guest: systemctl enable --now pvdrm-guest  (inside the guest)"
