"""run.py PATTERN - run the unittest files of this folder matching PATTERN
(verbose: each test and each skip reason is printed). Exit 0 when all
passed, 1 on a failure, 77 (ctest's SKIP_RETURN_CODE) when every test was
skipped, so that ctest shows a skipped test as skipped."""

import os
import sys
import unittest


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    suite = unittest.defaultTestLoader.discover(here, pattern=sys.argv[1])
    res = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    if not res.wasSuccessful():
        return 1
    skipped = len(res.skipped)
    if res.testsRun == 0 or skipped >= res.testsRun:
        print(f"SKIP: all {skipped} skipped (reasons above)")
        return 77
    return 0


if __name__ == "__main__":
    sys.exit(main())
