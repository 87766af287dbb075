# Sourced by the demo scripts: their shared options (--guests N --size N --bin DIR), and the
# executables, built (Release) unless --bin names a folder that has them. Sets guests, size,
# host_exe and guest_exe; expects $demo (the script's name) and the defaults in guests and size.
bin=""
while [ $# -gt 0 ]; do
  case "$1" in
    --guests) guests="$2"; shift 2 ;;
    --size) size="$2"; shift 2 ;;
    --bin) bin="$2"; shift 2 ;;
    *) echo "usage: $0 [--guests N] [--size N] [--bin DIR]" >&2; exit 2 ;;
  esac
done
[[ "$guests" =~ ^[0-9]+$ ]] && [ "$guests" -ge 1 ] && [ "$guests" -le 32 ] || { echo "--guests must be 1..32" >&2; exit 2; }
[[ "$size" =~ ^[0-9]+$ ]] || { echo "--size must be a number" >&2; exit 2; }

if [ -z "$bin" ]; then
  echo "building (Release)..."
  dotnet build PvDrm.Host/PvDrm.Host.csproj -c Release -v q --nologo >/dev/null
  bin="PvDrm.Host/bin/Release/net10.0"
fi
host_exe="$bin/pvdrm-host" guest_exe="$bin/pvdrm-guest"
[ -x "$host_exe" ] && [ -x "$guest_exe" ] || { echo "$demo: no pvdrm-host/pvdrm-guest in $bin" >&2; exit 1; }
