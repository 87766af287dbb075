#!/usr/bin/env bash
# Builds PvDrm's releases: self-contained single-file pvdrm-host and pvdrm-guest (no .NET needed
# on the target), the preload shim libpvdrm_shim.so, the Debian packages pvdrm-host and
# pvdrm-guest, and a tarball with the same tree, for each runtime asked for; and once, the NuGet
# package PvDrm.Client (the client library for programs of one's own, PvDrm.Client/README.md).
#
#   deploy/package.sh                          # linux-x64 and linux-arm64 into dist/
#   deploy/package.sh --rid linux-x64 --out /tmp/rel --version 1.2.0
#
# The version: --version, else $PVDRM_VERSION, else a tag vX.Y.Z on HEAD, else the Version
# property of Directory.Build.props. Needs the .NET SDK, dpkg-deb and tar; gcc for the shim (for
# linux-arm64 the cross compiler aarch64-linux-gnu-gcc; without it the arm64 release has no shim
# and this script says so).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

rids=()
out="$repo/dist"
version="${PVDRM_VERSION:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --rid) rids+=("$2"); shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --version) version="$2"; shift 2 ;;
    *) echo "usage: $0 [--rid linux-x64|linux-arm64]... [--out DIR] [--version X.Y.Z]" >&2; exit 2 ;;
  esac
done
[ ${#rids[@]} -gt 0 ] || rids=(linux-x64 linux-arm64)

if [ -z "$version" ]; then
  tag=$(git describe --tags --exact-match --match 'v[0-9]*' 2>/dev/null || true)
  if [ -n "$tag" ]; then version="${tag#v}"
  else version=$(sed -n 's:.*<Version[^>]*>\(.*\)</Version>.*:\1:p' Directory.Build.props | head -n 1)
  fi
fi
if ! [[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$ ]]; then
  echo "package.sh: version '$version' is not X.Y.Z[-suffix]" >&2
  exit 2
fi
# Debian orders 1.2.0~rc1 before 1.2.0, as SemVer orders 1.2.0-rc1.
debversion="${version//-/\~}"
for tool in dotnet dpkg-deb tar; do
  command -v "$tool" >/dev/null || { echo "package.sh: $tool is required" >&2; exit 2; }
done

mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
machine=$(uname -m)

for rid in "${rids[@]}"; do
  case "$rid" in
    linux-x64) arch=amd64; native=x86_64; cross=x86_64-linux-gnu-gcc ;;
    linux-arm64) arch=arm64; native=aarch64; cross=aarch64-linux-gnu-gcc ;;
    *) echo "package.sh: runtime $rid is not linux-x64 or linux-arm64" >&2; exit 2 ;;
  esac
  compiler=$cross
  [ "$machine" = "$native" ] && compiler=gcc
  shim=yes
  command -v "$compiler" >/dev/null || shim=no

  echo "package.sh: $rid, version $version"
  root="$work/$rid/root"
  lib="$root/usr/lib/pvdrm"
  mkdir -p "$lib" "$root/usr/bin" "$root/lib/systemd/system" "$root/etc/pvdrm"
  started=$SECONDS
  for project in Guest Host; do
    # Own obj/bin folders (--artifacts-path), so a release never mixes with a developer's build.
    dotnet publish "PvDrm.$project/PvDrm.$project.csproj" -c Release -r "$rid" --self-contained \
      -p:PublishSingleFile=true -p:DebugType=none -p:Version="$version" -p:PvDrmShimCompiler="$compiler" \
      --artifacts-path "$work/artifacts" -o "$work/$rid/$project" --nologo -v q
  done
  echo "package.sh: $rid published in $((SECONDS - started)) s"
  install -m 0755 "$work/$rid/Host/pvdrm-host" "$work/$rid/Guest/pvdrm-guest" "$lib/"
  if [ "$shim" = yes ]; then
    install -m 0644 "$work/$rid/Guest/libpvdrm_shim.so" "$lib/"
  else
    echo "package.sh: $compiler not found: the $rid release has no libpvdrm_shim.so (pvdrm-guest exec will say it is missing)" >&2
  fi
  for exe in pvdrm-host pvdrm-guest; do ln -s "../lib/pvdrm/$exe" "$root/usr/bin/$exe"; done
  install -m 0644 deploy/systemd/pvdrm-host.service deploy/systemd/pvdrm-guest.service "$root/lib/systemd/system/"
  install -m 0644 deploy/pvdrm-host.hocon deploy/pvdrm-guest.hocon "$root/etc/pvdrm/"
  install -D -m 0644 README.md "$root/usr/share/doc/pvdrm-host/README.md"
  install -D -m 0644 README.md "$root/usr/share/doc/pvdrm-guest/README.md"

  # The tarball: the tree as it lands in /, and install.sh beside it (./install.sh, or
  # deploy/install.sh --package FILE, installs it).
  name="pvdrm-$version-$rid"
  install -m 0755 deploy/install.sh "$root/install.sh"
  tar -C "$root" --owner=0 --group=0 --transform "s:^\.:$name:" -czf "$out/$name.tar.gz" .
  rm "$root/install.sh"

  for part in host guest; do
    deb="$work/$rid/deb-$part"
    mkdir -p "$deb/DEBIAN" "$deb/usr/lib/pvdrm" "$deb/usr/bin" "$deb/lib/systemd/system" "$deb/etc/pvdrm" "$deb/usr/share/doc/pvdrm-$part"
    cp -a "$lib/pvdrm-$part" "$deb/usr/lib/pvdrm/"
    cp -a "$root/usr/bin/pvdrm-$part" "$deb/usr/bin/"
    cp -a "$root/lib/systemd/system/pvdrm-$part.service" "$deb/lib/systemd/system/"
    cp -a "$root/etc/pvdrm/pvdrm-$part.hocon" "$deb/etc/pvdrm/"
    cp -a README.md "$deb/usr/share/doc/pvdrm-$part/"
    [ "$part" = guest ] && [ -e "$lib/libpvdrm_shim.so" ] && cp -a "$lib/libpvdrm_shim.so" "$deb/usr/lib/pvdrm/"
    echo "/etc/pvdrm/pvdrm-$part.hocon" > "$deb/DEBIAN/conffiles"
    sed -e "s/@PART@/$part/g" deploy/debian/postinst > "$deb/DEBIAN/postinst"
    sed -e "s/@PART@/$part/g" deploy/debian/prerm > "$deb/DEBIAN/prerm"
    sed -e "s/@PART@/$part/g" deploy/debian/postrm > "$deb/DEBIAN/postrm"
    chmod 0755 "$deb/DEBIAN/postinst" "$deb/DEBIAN/prerm" "$deb/DEBIAN/postrm"
    {
      echo "Package: pvdrm-$part"
      echo "Version: $debversion"
      echo "Architecture: $arch"
      echo "Maintainer: PvDrm <pvdrm@localhost>"
      echo "Installed-Size: $(du -sk "$deb" | cut -f1)"
      echo "Depends: adduser, libc6"
      echo "Section: misc"
      echo "Priority: optional"
      if [ "$part" = host ]; then
        # demo and soak start pvdrm-guest processes from /usr/lib/pvdrm.
        # liblmdb0: a pool node's durable placements (pvdrm.cluster.state-dir).
        echo "Recommends: pvdrm-guest (= $debversion), liblmdb0"
        echo "Description: PvDrm host: shares one GPU among isolated guests"
        echo " The host daemon (pvdrm-host serve), its admin commands and the SoftGpu demo."
      else
        echo "Description: PvDrm guest proxy and DRM preload shim"
        echo " The guest proxy (pvdrm-guest serve), the verified workload runner and the"
        echo " preload shim for unmodified DRM programs (pvdrm-guest exec)."
      fi
    } > "$deb/DEBIAN/control"
    dpkg-deb --root-owner-group -Zgzip --build "$deb" "$out/pvdrm-${part}_${debversion}_$arch.deb" >/dev/null
  done
done

# The client library: one package for every runtime (managed code over Linux syscalls).
dotnet pack PvDrm.Client/PvDrm.Client.csproj -c Release -p:Version="$version" \
  --artifacts-path "$work/artifacts" -o "$out" --nologo -v q

echo "package.sh: built in $out:"
(cd "$out" && ls -l -- *.deb *.tar.gz *.nupkg | awk '{ printf "  %-50s %6.1f MiB\n", $NF, $5 / 1048576 }')
