"""The package installs offline from the repository into a fresh venv
(pip install --no-index --no-build-isolation) and imports from there.
The source is copied first, so the build leaves nothing in the tree."""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                   "tools", "python")


class InstallTest(unittest.TestCase):
    def test_offline_install(self):
        for mod in ("venv", "pip", "setuptools"):
            r = subprocess.run([sys.executable, "-c", f"import {mod}"],
                               capture_output=True)
            if r.returncode != 0:
                self.skipTest(f"python3 module {mod} is missing "
                              "(tools/scripts/setup.sh installs it)")
        tmp = tempfile.mkdtemp(prefix="fabraft-pyinst.")
        self.addCleanup(shutil.rmtree, tmp, True)
        src = os.path.join(tmp, "src")
        shutil.copytree(SRC, src, ignore=shutil.ignore_patterns(
            "build", "*.egg-info", "__pycache__"))
        venv = os.path.join(tmp, "venv")
        subprocess.run([sys.executable, "-m", "venv",
                        "--system-site-packages", venv], check=True)
        py = os.path.join(venv, "bin", "python")
        r = subprocess.run([py, "-m", "pip", "install", "--no-index",
                            "--no-build-isolation", "--no-cache-dir", src],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)
        r = subprocess.run(
            [py, "-c", "import fabraft, fabraft.connector; "
             "print(fabraft.__file__); "
             "print(fabraft.chain_hashes(range(4), 4)[0].hex())"],
            capture_output=True, text=True, cwd=tmp, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        where, h = r.stdout.split()
        self.assertTrue(where.startswith(venv), where)
        self.assertEqual(len(h), 64)


if __name__ == "__main__":
    unittest.main()
