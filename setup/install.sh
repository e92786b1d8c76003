#!/usr/bin/env bash
# Installs the cachet release binary for this runner (Linux, macOS or Windows; amd64 or
# arm64) and puts it on PATH, after two checks; on a failed check nothing is installed.
#  1. Its SHA-256 must be the one listed for it in SHA256SUMS beside this script. The
#     release commit writes that list, so the binary is pinned by the same ref that pins
#     this action: no verifier has to exist on the runner before cachet does.
#  2. Its Sigstore bundle must verify, by the binary just checked, for the release
#     workflow's identity (https://github.com/REPO/.github/workflows/release.yml@refs/tags/VERSION)
#     and GitHub's OIDC issuer: the release was signed by that workflow and logged.
# It is cached by version under $RUNNER_TOOL_CACHE/cachet/VERSION/OS-ARCH (checked again
# on every use). Settings (the setup action passes its inputs so):
#   CACHET_VERSION      release tag; default: VERSION beside this script
#   CACHET_REPOSITORY   default cachet-sign/cachet
#   CACHET_PKCS11=true  the linux/amd64 cgo build (PKCS#11 key mode)
#   CACHET_TRUSTED_ROOT trusted_root.json for the bundle check; default: Sigstore's TUF repository
#   CACHET_OIDC_ISSUER  default https://token.actions.githubusercontent.com
#   GITHUB_SERVER_URL   default https://github.com
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
die() { echo "::error title=cachet setup::$*" >&2; exit 1; }

version=${CACHET_VERSION:-}
[ -n "$version" ] || version=$(tr -d ' \r\n' <"$here/VERSION" 2>/dev/null || true)
[ -n "$version" ] || die "no version: this action ref has no setup/VERSION (use a release tag such as cachet-sign/cachet/setup@v1), or set the version input"
[[ "$version" =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || die "version \"$version\" is not a release tag vX.Y.Z"
repo=${CACHET_REPOSITORY:-cachet-sign/cachet}
server=${GITHUB_SERVER_URL:-https://github.com}
issuer=${CACHET_OIDC_ISSUER:-https://token.actions.githubusercontent.com}
identity="https://github.com/$repo/.github/workflows/release.yml@refs/tags/$version"

case "${RUNNER_OS:-$(uname -s)}" in
  Linux) os=linux ;; macOS|Darwin) os=darwin ;; Windows|MINGW*|MSYS*|CYGWIN*) os=windows ;;
  *) die "unsupported runner OS ${RUNNER_OS:-$(uname -s)}" ;;
esac
case "${RUNNER_ARCH:-$(uname -m)}" in
  X64|x86_64|amd64) arch=amd64 ;; ARM64|arm64|aarch64) arch=arm64 ;;
  *) die "unsupported runner architecture ${RUNNER_ARCH:-$(uname -m)}" ;;
esac
ext=""; [ "$os" = windows ] && ext=.exe
name="cachet-$os-$arch$ext" flavour=""
if [ "${CACHET_PKCS11:-false}" = true ]; then
  flavour=-pkcs11
  [ "$os/$arch" = linux/amd64 ] || die "the PKCS#11 build is linux/amd64 only (this runner is $os/$arch)"
  name=cachet-linux-amd64-pkcs11
fi

sums="$here/SHA256SUMS"
[ -f "$sums" ] || die "no SHA256SUMS beside the setup action: pin a release tag (the release commit writes it)"
want=$(awk -v n="$name" '$2 == n || $2 == "*" n { print $1 }' "$sums")
[ "$(printf '%s\n' "$want" | grep -c .)" = 1 ] && [[ "$want" =~ ^[0-9a-f]{64}$ ]] || die "SHA256SUMS lists no single checksum for $name"
sha256() { if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi; }

cache=${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:-/tmp}}/cachet/$version/$os-$arch$flavour
bin="$cache/cachet$ext"
if [ -f "$cache.complete" ] && [ -f "$bin" ] && [ "$(sha256 "$bin")" = "$want" ]; then
  echo "cachet $version: cached at $bin (checksum checked)" >&2
else
  tmp=$(mktemp -d "${RUNNER_TEMP:-/tmp}/cachet-setup.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  url="$server/$repo/releases/download/$version"
  for f in "$name" "$name.sigstore.json"; do
    curl -fsSL --retry 3 --retry-delay 2 --max-time 300 -o "$tmp/$f" "$url/$f" || die "download $url/$f failed"
  done
  got=$(sha256 "$tmp/$name")
  [ "$got" = "$want" ] || die "$name from $url has SHA-256 $got, but this action's SHA256SUMS lists $want: refusing it"
  chmod +x "$tmp/$name"
  trust=()
  [ -n "${CACHET_TRUSTED_ROOT:-}" ] && trust=(--trusted-root "$CACHET_TRUSTED_ROOT")
  if ! "$tmp/$name" verify-bundle "${trust[@]}" --bundle "$tmp/$name.sigstore.json" \
      --certificate-identity "$identity" --certificate-oidc-issuer "$issuer" "$tmp/$name" >&2; then
    die "$name.sigstore.json does not verify for $identity: refusing the binary"
  fi
  rm -rf "$cache" "$cache.complete" && mkdir -p "$cache"
  mv "$tmp/$name" "$bin"
  touch "$cache.complete"
  echo "cachet $version: $name verified (checksum and bundle for $identity), installed at $bin" >&2
fi
if [ -n "${GITHUB_PATH:-}" ]; then echo "$cache" >>"$GITHUB_PATH"; fi
if [ -n "${GITHUB_OUTPUT:-}" ]; then { echo "path=$bin"; echo "version=$version"; } >>"$GITHUB_OUTPUT"; fi
echo "$bin"
