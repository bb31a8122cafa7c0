# SPDX-License-Identifier: GPL-3.0-or-later
"""licence: Nimbus is GPL-3.0-or-later, said everywhere a user or packager
looks.

- spdx: LICENSE holds the GPL version 3 text, and every source file of ours
  (C, headers, CMake, scripts, Python, Perl, PHP, Lua, JS, CSS, HTML, the
  WSDL) carries the SPDX-License-Identifier line in its first lines.
- dependencies: docs/dependencies.md is what scripts/dependencies writes
  from the packages' copyright files today (it cannot go stale), and every
  library the built binary links (ldd, resolved to its Debian package with
  dpkg -S) is in it; sanitizer runtimes, linked only into sanitizer builds,
  are not shipped and are left out.
- version: `nimbus --version` states the licence.

Usage: test_licence.py spdx|dependencies|version [NIMBUS_BINARY]
"""

import os
import re
import subprocess
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TAG = "SPDX-License-Identifier: GPL-3.0-or-later"
OURS = re.compile(r"(\.(c|h|in|cmake|py|sh|pl|php|lua|js|mjs|css|html|wsdl|supp|dat)$|"
                  r"(^|/)(CMakeLists\.txt|\.gitignore|\.clang-format)$|"
                  r"^scripts/[a-z]+$|^\.ci/run$)")
SANITIZER_RUNTIMES = ("libasan", "libubsan", "libtsan", "liblsan")


def spdx():
    with open(os.path.join(REPO, "LICENSE")) as f:
        head = " ".join(f.read(400).split())
    assert head.startswith("GNU GENERAL PUBLIC LICENSE Version 3, 29 June 2007"), head
    files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True,
                           check=True).stdout.split()
    checked, missing = 0, []
    for path in files:
        if not OURS.search(path):
            continue
        with open(os.path.join(REPO, path), errors="replace") as f:
            first = [next(f, "") for _ in range(3)]
        checked += 1
        if not any(TAG in line for line in first):
            missing.append(path)
    assert not missing, "no SPDX line in: %s" % ", ".join(missing)
    assert checked > 150, checked
    print("spdx: %d files carry %s" % (checked, TAG))


def dependencies(binary):
    check = subprocess.run([os.path.join(REPO, "scripts", "dependencies"), "--check"],
                           capture_output=True, text=True)
    assert check.returncode == 0, "docs/dependencies.md is stale:\n" + check.stdout + check.stderr
    with open(os.path.join(REPO, "docs", "dependencies.md")) as f:
        table = f.read()
    listed = set(re.findall(r"`([a-z0-9][a-z0-9.+-]+)`", table))
    # What the binary needs (readelf's NEEDED entries) and what those need
    # in turn, resolved by ldd; a sanitizer runtime and the libraries only
    # it brings (libstdc++ for ASan) are not what a release build ships.
    def needed(path):
        out = subprocess.run(["readelf", "-d", path], capture_output=True, text=True,
                             check=True).stdout
        return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)

    ldd = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    where = dict(re.findall(r"^\s*(\S+) => (/\S+)", ldd, re.M))
    for path in re.findall(r"^\s*(/\S+ld-linux\S*)", ldd, re.M):
        where[os.path.basename(path)] = path
    libs, todo = [], [n for n in needed(binary) if not n.startswith(SANITIZER_RUNTIMES)]
    while todo:
        name = todo.pop()
        path = where.get(name)
        if path is None or path in libs:
            continue
        libs.append(path)
        todo.extend(n for n in needed(path) if not n.startswith(SANITIZER_RUNTIMES))
    missing = []
    for lib in libs:
        real = os.path.realpath(lib)
        owner = None
        for candidate in (real, lib, real.replace("/usr/lib/", "/lib/"),
                          real.replace("/lib/", "/usr/lib/", 1)):
            r = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
            if r.returncode == 0:
                owner = r.stdout.split(":")[0]
                break
        assert owner, "no Debian package owns %s" % lib
        if owner not in listed:
            missing.append("%s (%s)" % (owner, os.path.basename(lib)))
    assert not missing, "linked but not in docs/dependencies.md: %s" % ", ".join(missing)
    print("dependencies: %d linked libraries, all in docs/dependencies.md" % len(libs))


def version(binary):
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True)
    assert "GPL-3.0-or-later" in out.stdout, out.stdout
    print("version: " + out.stdout.splitlines()[0])


if __name__ == "__main__":
    what = sys.argv[1]
    if what == "spdx":
        spdx()
    elif what == "dependencies":
        dependencies(sys.argv[2])
    else:
        version(sys.argv[2])
