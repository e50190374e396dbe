#!/usr/bin/env bash
# Install, from Debian's archive, what building, booting and testing the
# series needs.  Idempotent: when every package is there it only checks.
# ISOLATION_NO_INSTALL=1 skips it (for a machine set up by other means).
set -euo pipefail

packages=(
	# the base tree: Linux 6.12.y as Debian ships it, under /usr/src
	linux-source-6.12
	# building the kernel
	build-essential bc bison flex libelf-dev libssl-dev cpio xz-utils
	ccache python3 rsync git patch kmod
	# static checks
	sparse
	# booting: QEMU with q35 and VT-d, qboot for KUnit, busybox for the guest
	qemu-system-x86 busybox-static libc6-dev
)

[ "${ISOLATION_NO_INSTALL:-0}" = 1 ] && exit 0

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = installed ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null || {
		echo "setup: need root (or sudo) to install: ${missing[*]}" >&2
		exit 1
	}
	sudo=sudo
fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q >&2
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
