"""Summarises an Autobahn|Testsuite fuzzingclient report: for each agent,
how many cases ended with each verdict, and every case that was not OK with
its verdicts and the close code the server sent."""

import json
import os
import sys
from collections import Counter

VERDICTS = ["OK", "NON-STRICT", "INFORMATIONAL", "FAILED", "UNIMPLEMENTED"]


def case_key(case):
    return [int(part) for part in case.split(".")]


def main(index_path):
    with open(index_path) as index_file:
        index = json.load(index_file)
    reports = os.path.dirname(index_path)
    for agent in sorted(index):
        cases = index[agent]
        counts = Counter(result["behavior"] for result in cases.values())
        print(f"{agent}: {len(cases)} cases")
        print("  " + ", ".join(f"{verdict} {counts.get(verdict, 0)}" for verdict in VERDICTS))
        for case in sorted(cases, key=case_key):
            result = cases[case]
            if result["behavior"] == "OK" and result["behaviorClose"] == "OK":
                continue
            with open(os.path.join(reports, result["reportfile"])) as report_file:
                report = json.load(report_file)
            print(
                f"  {case:<10} {result['behavior']:<14} close {result['behaviorClose']:<14}"
                f" server's close code {report.get('remoteCloseCode')}"
            )


if __name__ == "__main__":
    main(sys.argv[1])
