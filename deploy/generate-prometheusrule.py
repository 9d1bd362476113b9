#!/usr/bin/env python3
"""Generate deploy/kubernetes/prometheusrule.yaml (Prometheus Operator) from deploy/prometheus/alerts.yml.

    python3 deploy/generate-prometheusrule.py          # rewrite the manifest
    python3 deploy/generate-prometheusrule.py --check  # exit 1 if the manifest is out of date

alerts.yml is the source of truth: edit it, then run this script. The groups are copied as text (comments included)
and indented under spec:, so the manifest reads like the file; Tests/python/test_prometheus.py checks that both hold
the same groups.
"""
import sys
from pathlib import Path

import yaml

DEPLOY = Path(__file__).resolve().parent
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
MANIFEST = DEPLOY / "kubernetes" / "prometheusrule.yaml"

HEADER = """\
# GENERATED from deploy/prometheus/alerts.yml by deploy/generate-prometheusrule.py: edit alerts.yml and rerun the script.
# The alert and recording rules for the Prometheus Operator. Its Prometheus selects PrometheusRules by label
# (spec.ruleSelector, e.g. release: <your Prometheus release> with kube-prometheus-stack): add that label below.
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: inference-probe
  labels:
    app.kubernetes.io/name: inference-probe
spec:
"""


def render() -> str:
    text = ALERTS.read_text()
    start = text.index("\ngroups:\n") + 1  # drop the file's header comment, keep everything from groups: on
    body = "".join("  " + line if line.strip() else line for line in text[start:].splitlines(keepends=True))
    manifest = HEADER + body
    # Indenting a YAML document as a whole keeps its meaning; make sure of it.
    assert yaml.safe_load(manifest)["spec"]["groups"] == yaml.safe_load(text)["groups"]
    return manifest


def main() -> int:
    manifest = render()
    if sys.argv[1:] == ["--check"]:
        if MANIFEST.read_text() != manifest:
            print(f"{MANIFEST} is out of date: run python3 {Path(__file__).relative_to(DEPLOY.parent)}", file=sys.stderr)
            return 1
        return 0
    MANIFEST.write_text(manifest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
