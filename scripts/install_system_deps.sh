#!/usr/bin/env bash
# System libraries the Python wheels need. Open3D links libusb-1.0 and libgomp.
set -euo pipefail
missing=()
for lib in libusb-1.0.so.0:libusb-1.0-0 libgomp.so.1:libgomp1; do
    ldconfig -p | grep -q "${lib%%:*}" || missing+=("${lib##*:}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "error: missing system packages: ${missing[*]}; run: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
