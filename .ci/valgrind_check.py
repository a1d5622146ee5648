"""Read valgrind memcheck's XML report and fail if any error involves fastnn's code.

    python .ci/valgrind_check.py memcheck.xml

An error is fastnn's when a frame of any of its stacks (where it happened, and where the block
was allocated / freed or the uninitialised value created) is in a fastnn extension module
(fastnn/_<family>*.so), or in a source file under csrc/ or a binding fastnn/_<family>.{pyx,c}.
Every other error lies wholly inside Python, numpy, OpenBLAS, libgomp or the C library: those
are counted by the object of their innermost frame and printed as a summary, not failed on
(CPython and OpenBLAS have known memcheck false positives that are not ours to fix).
Exit status 0: no fastnn error; 1: fastnn errors (each printed with its stacks); 2: the report
is missing or unreadable (valgrind did not finish).
"""
import collections
import os
import re
import sys
import xml.etree.ElementTree as ET

FASTNN_OBJ = re.compile(r"(^|/)fastnn/_[a-z0-9_]+\.[^/]*\.so$|(^|/)fastnn/_[a-z0-9_]+\.so$")
FASTNN_SRC = re.compile(r"(^|/)csrc/[^/]+\.[ch]$|(^|/)fastnn/_[a-z0-9_]+\.(pyx|pxd|pxi|c)$")


def frame_path(frame):
    d, f = frame.findtext("dir") or "", frame.findtext("file") or ""
    return os.path.join(d, f) if f else ""


def is_fastnn_frame(frame):
    obj = frame.findtext("obj") or ""
    src = frame_path(frame)
    # Cython's generated C names only the file (fastnn/_linear.c) relative to the build dir
    return bool(FASTNN_OBJ.search(obj) or (src and FASTNN_SRC.search(src)))


def describe(frame):
    fn = frame.findtext("fn") or "???"
    src = frame_path(frame)
    line = frame.findtext("line")
    where = f"{src}:{line}" if src and line else os.path.basename(frame.findtext("obj") or "?")
    return f"{fn} ({where})"


def main(path):
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as err:
        print(f"valgrind_check: cannot read {path}: {err}")
        return 2
    if not any(s.findtext("state") == "FINISHED" for s in root.findall("status")):
        print(f"valgrind_check: {path} has no status: valgrind did not run to the end")
        return 2
    ours, others = [], collections.Counter()
    for err in root.findall("error"):
        kind = err.findtext("kind")
        if kind.startswith("Leak_"):
            continue   # leaks are tests/test_leaks.py's job; valgrind.sh runs --leak-check=no
        stacks = err.findall("stack")
        if any(is_fastnn_frame(f) for st in stacks for f in st.findall("frame")):
            ours.append(err)
        else:
            frames = stacks[0].findall("frame") if stacks else []
            obj = os.path.basename(frames[0].findtext("obj") or "?") if frames else "?"
            others[(kind, obj)] += 1

    total_others = sum(others.values())
    print(f"valgrind_check: {len(ours)} error(s) in fastnn's code, {total_others} elsewhere "
          f"(ignored: wholly inside Python / numpy / OpenBLAS / libgomp / libc)")
    for (kind, obj), n in others.most_common():
        print(f"    ignored {n:5d} x {kind} in {obj}")
    for err in ours:
        what = err.findtext("what") or err.findtext("xwhat/text") or ""
        print(f"\n== {err.findtext('kind')}: {what}")
        auxwhat = [a.text for a in err.findall("auxwhat")] + [a.findtext("text") for a in err.findall("xauxwhat")]
        for i, st in enumerate(err.findall("stack")):
            if i:
                print(f"  -- {auxwhat[i - 1] if i - 1 < len(auxwhat) else ''}")
            frames = st.findall("frame")
            ours_at = [i for i, f in enumerate(frames) if is_fastnn_frame(f)]
            # down to two frames below fastnn's outermost one (the rest is the interpreter)
            stop = min(len(frames), (ours_at[-1] + 3) if ours_at else 8)
            for f in frames[:stop]:
                mark = "*" if is_fastnn_frame(f) else " "
                print(f"   {mark} {describe(f)}")
            if stop < len(frames):
                print(f"     ... {len(frames) - stop} more frames")
    return 1 if ours else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
