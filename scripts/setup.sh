#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Idempotent set-up of everything the project needs on a fresh Debian 12 machine:
#  - system packages from the machine's own apt suites (bookworm, bookworm-security), versions pinned;
#  - bindgen-cli through cargo into $VE_CACHE;
#  - the Linux 7.3 source from Debian's linux-source-7.3 (trixie-backports), fetched through a private
#    apt configuration whose URI is read from /etc/apt/sources.list.d/debian.sources. Nothing from
#    trixie is installed: the .deb is only unpacked.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

# name=version; the version is what apt must still offer, or setup stops naming the package.
PINNED=(
	rustc-web=1.96.0+dfsg1-1~deb12u2
	rust-web-src=1.96.0+dfsg1-1~deb12u2
	rust-web-clippy=1.96.0+dfsg1-1~deb12u2
	rustfmt-web=1.96.0+dfsg1-1~deb12u2
	clang-22=1:22.1.8-1~deb12u1
	lld-22=1:22.1.8-1~deb12u1
	llvm-22=1:22.1.8-1~deb12u1
	libclang-22-dev=1:22.1.8-1~deb12u1
	qemu-system-x86=1:7.2+dfsg-7+deb12u18+b3
	busybox-static=1:1.35.0-4+deb12u1+b1
	shellcheck=0.9.0-1
)
UNPINNED=(build-essential flex bison bc libelf-dev libssl-dev cpio kmod xz-utils zstd python3 dwarves file)

need_install() {
	local p name ver
	for p in "${PINNED[@]}"; do
		name=${p%%=*}; ver=${p#*=}
		[ "$(dpkg-query -W -f='${Version}' "$name" 2>/dev/null)" = "$ver" ] || return 0
	done
	for p in "${UNPINNED[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || return 0
	done
	return 1
}

install_packages() {
	if ! need_install; then
		log "system packages: already installed"
		return
	fi
	log "system packages: apt-get update"
	apt-get update -q >/dev/null
	local p name ver
	for p in "${PINNED[@]}"; do
		name=${p%%=*}; ver=${p#*=}
		if ! apt-cache madison "$name" | awk -F'|' '{gsub(/ /,"",$2); print $2}' | grep -qxF "$ver"; then
			printf '\n*** PINNED PACKAGE VERSION GONE: %s %s is no longer offered by apt.\n' "$name" "$ver" >&2
			printf '*** apt offers: %s\n' "$(apt-cache madison "$name" | awk -F'|' '{print $2}' | xargs)" >&2
			die "update the pin for $name in scripts/setup.sh"
		fi
	done
	log "system packages: installing (about 1 min)"
	# This image's apt may delete archives between dpkg runs; a second identical run fixes that.
	local i
	for i in 1 2 3; do
		if DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
			"${PINNED[@]}" "${UNPINNED[@]}" >"$VE_CACHE/apt-install.log" 2>&1; then
			return
		fi
		log "apt-get install failed (try $i), retrying"
	done
	tail -n 30 "$VE_CACHE/apt-install.log" >&2
	die "apt-get install failed"
}

install_bindgen() {
	if [ -x "$BINDGEN" ] && "$BINDGEN" --version | grep -qF "$BINDGEN_VERSION"; then
		log "bindgen $BINDGEN_VERSION: cached"
		return
	fi
	log "bindgen $BINDGEN_VERSION: cargo install (about 80 s)"
	cargo install --locked --quiet "bindgen-cli@$BINDGEN_VERSION" --root "$VE_CACHE/bindgen-$BINDGEN_VERSION"
}

fetch_kernel_source() {
	local apt="$VE_CACHE/apt" uri
	if [ -f "$VE_CACHE/src/CURRENT" ] && [ -f "$(kernel_src_dir)/Makefile" ]; then
		log "kernel source: cached ($LINUX_SRC_PKG $(cat "$VE_CACHE/src/CURRENT"))"
		return
	fi
	uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
	[ -n "$uri" ] || die "no URIs: line in /etc/apt/sources.list.d/debian.sources"
	mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/sources.list.d"
	: >"$apt/status"
	echo "deb $uri trixie-backports main" >"$apt/sources.list"
	local opts=(-o Dir::Etc::sourcelist="$apt/sources.list" -o Dir::Etc::sourceparts=-
		-o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache" -o Dir::State::status="$apt/status"
		-o Debug::NoLocking=1 -o APT::Get::List-Cleanup=0 -o APT::Sandbox::User=root)
	log "kernel source: private apt update (trixie-backports)"
	apt-get "${opts[@]}" update -q >/dev/null
	local offered ver
	offered=$(apt-cache "${opts[@]}" madison "$LINUX_SRC_PKG" | awk -F'|' '{gsub(/ /,"",$2); print $2}')
	[ -n "$offered" ] || die "$LINUX_SRC_PKG is not offered by trixie-backports"
	if grep -qxF "$LINUX_SRC_VERSION_PREFERRED" <<<"$offered"; then
		ver=$LINUX_SRC_VERSION_PREFERRED
	else
		ver=$(head -n 1 <<<"$offered")
		log "WARNING: $LINUX_SRC_PKG $LINUX_SRC_VERSION_PREFERRED is gone; using $ver"
	fi
	log "kernel source: downloading $LINUX_SRC_PKG $ver"
	local dl="$VE_CACHE/dl"
	mkdir -p "$dl"
	(cd "$dl" && rm -f ./*.deb && apt-get "${opts[@]}" download -q "$LINUX_SRC_PKG=$ver" >/dev/null)
	local tmp="$VE_CACHE/src/.unpack"
	rm -rf "$tmp" && mkdir -p "$tmp"
	dpkg-deb -x "$dl"/*.deb "$tmp"
	log "kernel source: unpacking (about 30 s)"
	tar -C "$tmp" -xf "$tmp"/usr/src/linux-source-7.3.tar.xz
	rm -rf "$VE_CACHE/src/linux-$(path_safe "$ver")"
	mv "$tmp/linux-source-7.3" "$VE_CACHE/src/linux-$(path_safe "$ver")"
	rm -rf "$tmp" "$dl"
	echo "$ver" >"$VE_CACHE/src/CURRENT"
}

mkdir -p "$VE_CACHE/src"
install_packages
install_bindgen
fetch_kernel_source
log "toolchain: $(/usr/bin/rustc --version); $("$BINDGEN" --version); $("clang-$LLVM_MAJOR" --version | head -n 1)"
log "kernel source: $LINUX_SRC_PKG $(cat "$VE_CACHE/src/CURRENT") at $(kernel_src_dir)"
