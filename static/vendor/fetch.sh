#!/usr/bin/env bash
# Fetch the vendored front-end libraries from the npm registry (never a CDN).
#
#   ECharts  -> static/vendor/echarts/{echarts.min.js,LICENSE,NOTICE}
#   htmx     -> static/vendor/htmx/{htmx.min.js,LICENSE}
#   axe-core -> tests/e2e/vendor/axe-core/{axe.min.js,LICENSE}  (a test tool for the
#               accessibility tests, injected by Playwright; never served to users)
#
# Versions and tarball integrities are pinned below; a tarball whose sha512 differs from
# the pinned one is refused. Running it again yields the same files (idempotent). To
# upgrade: change the version, run once with the integrity left empty, check the new
# integrity printed against `npm view <pkg>@<version> dist.integrity`, pin it, commit.
set -euo pipefail

ECHARTS_VERSION="6.1.0"
ECHARTS_INTEGRITY="sha512-q0yaFPggC9FUdsWH4blavRWFmxdrIodbkoKNAjJudAI6CA9gNPxHtV2RcZNEepZVlk4yvBYkOkbk6HIVpIyHZA=="
HTMX_VERSION="2.0.11"
HTMX_INTEGRITY="sha512-Thx/WtpeOQqSrqBCw/A1cwGJGg4UrVa3+sW0GmrM3p4gJgO89ecH4qtbnyzDDWFvBTqjnIMCgELTNt636dtamA=="
AXE_VERSION="4.14.1"
AXE_INTEGRITY="sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="

VENDOR_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Test-only tools go under tests/e2e/vendor/, outside the static files users are served.
TEST_VENDOR_DIR="$(cd "$VENDOR_DIR/../.." && pwd)/tests/e2e/vendor"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

command -v npm >/dev/null || { echo "fetch.sh: npm is needed (apt-get install npm)" >&2; exit 1; }

integrity_of() {
    # npm's "sha512-<base64>" form of a file's digest.
    # node comes with npm, so this needs nothing else installed.
    node -e 'const c = require("crypto"), fs = require("fs");
        process.stdout.write("sha512-" + c.createHash("sha512")
            .update(fs.readFileSync(process.argv[1])).digest("base64"));' "$1"
}

# fetch PACKAGE VERSION INTEGRITY DEST FILE...  (FILE paths are inside the package;
# DEST is relative to static/vendor/, or absolute)
fetch() {
    local pkg="$1" version="$2" pinned="$3" dest="$4"
    shift 4
    [[ "$dest" = /* ]] || dest="$VENDOR_DIR/$dest"
    local tarball actual
    if ! tarball="$(cd "$WORK" && npm pack --silent "${pkg}@${version}" 2>"$WORK/npm.err")"; then
        echo "fetch.sh: npm pack ${pkg}@${version} failed:" >&2
        cat "$WORK/npm.err" >&2
        exit 1
    fi
    tarball="$(tail -n1 <<<"$tarball")"
    actual="$(integrity_of "$WORK/$tarball")"
    if [[ -n "$pinned" && "$actual" != "$pinned" ]]; then
        echo "fetch.sh: ${pkg}@${version} integrity mismatch:" >&2
        echo "  pinned ${pinned}" >&2
        echo "  got    ${actual}" >&2
        exit 1
    fi
    mkdir -p "$WORK/$pkg"
    tar -xzf "$WORK/$tarball" -C "$WORK/$pkg"
    mkdir -p "$dest"
    for file in "$@"; do
        install -m 0644 "$WORK/$pkg/package/$file" "$dest/$(basename "$file")"
    done
    echo "${pkg} ${version} ${actual}" >>"$WORK/versions"
}

fetch echarts "$ECHARTS_VERSION" "$ECHARTS_INTEGRITY" echarts dist/echarts.min.js LICENSE NOTICE
fetch htmx.org "$HTMX_VERSION" "$HTMX_INTEGRITY" htmx dist/htmx.min.js LICENSE
fetch axe-core "$AXE_VERSION" "$AXE_INTEGRITY" "$TEST_VENDOR_DIR/axe-core" axe.min.js LICENSE

{
    echo "# Vendored by static/vendor/fetch.sh from the npm registry; do not edit by hand."
    echo "# package version tarball-integrity"
    cat "$WORK/versions"
    echo "# sha256 of the vendored files"
    (cd "$VENDOR_DIR" && sha256sum echarts/* htmx/*)
    (cd "$TEST_VENDOR_DIR" && sha256sum axe-core/* | sed 's|  |  tests/e2e/vendor/|')
} >"$VENDOR_DIR/VERSIONS.txt"

echo "vendored: echarts ${ECHARTS_VERSION}, htmx.org ${HTMX_VERSION} -> ${VENDOR_DIR}"
echo "vendored: axe-core ${AXE_VERSION} -> ${TEST_VENDOR_DIR}"
