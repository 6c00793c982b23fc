"""pip-audit of the installed dependencies: fail on a known vulnerability, warn when the
advisory database cannot be reached (an offline CI machine must not go red for that).

pip-audit reports a package it could not look up as "skipped" and exits 0; this script
reads its JSON report and says how many packages were really audited.
"""

from __future__ import annotations

import json
import subprocess
import sys


def main() -> int:
    run = subprocess.run(
        [sys.executable, "-m", "pip_audit", "--progress-spinner", "off", "-f", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        print(f"pip-audit: no report (advisory database unreachable?): {run.stderr[-500:]}")
        return 0
    deps = report.get("dependencies", [])
    audited = [d for d in deps if "skip_reason" not in d]
    vulnerable = [d for d in audited if d.get("vulns")]
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions", [])) or "no fix yet"
            print(f"VULNERABLE {dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixed})")
    print(
        f"pip-audit: {len(audited)} of {len(deps)} packages audited, {len(vulnerable)} vulnerable"
    )
    if deps and not audited:
        print("pip-audit: WARNING the advisory database could not be reached; nothing audited")
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main())
