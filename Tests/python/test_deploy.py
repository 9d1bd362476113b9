"""The bundled Kubernetes manifests and Dockerfile agree with the binary: flags, port, health paths, and
a configuration that passes check-config."""
import json
import re
import subprocess

import yaml

from conftest import ROOT

DEPLOY = ROOT / "deploy"


def documents(name: str) -> list[dict]:
    return [d for d in yaml.safe_load_all((DEPLOY / "kubernetes" / name).read_text()) if d]


def sidecar_container() -> dict:
    (deployment,) = documents("deployment.yaml")
    containers = {c["name"]: c for c in deployment["spec"]["template"]["spec"]["containers"]}
    return containers["inference-probe"]


def test_sidecar_container_uses_real_flags_port_and_health_paths(binary):
    container = sidecar_container()
    help_text = subprocess.run([binary, "run", "--help"], capture_output=True, text=True, check=True).stdout
    for arg in container["args"]:
        flag = arg.split("=", 1)[0]
        assert flag in help_text, f"{flag} is not a flag of inference-probe run"
    assert "--web.listen-address=:9847" in container["args"]
    assert container["ports"][0]["containerPort"] == 9847
    assert container["readinessProbe"]["httpGet"]["path"] == "/-/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/-/healthy"
    (deployment,) = documents("deployment.yaml")
    assert deployment["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] == "9847"
    assert "EXPOSE 9847" in (DEPLOY / "Dockerfile").read_text()


def test_configmap_configuration_passes_check_config(binary, tmp_path):
    configmap = next(d for d in documents("configmap.yaml") if d["kind"] == "ConfigMap")
    secret = next(d for d in documents("configmap.yaml") if d["kind"] == "Secret")
    mounted = "/etc/inference-probe/secrets/"
    key_name = next(iter(secret["stringData"]))
    (tmp_path / key_name).write_text("sk-from-a-mounted-secret\n")
    config = configmap["data"]["inference-probe.yml"].replace(mounted, f"{tmp_path}/")
    assert config != configmap["data"]["inference-probe.yml"], "the config reads its key from the mounted secret"
    (tmp_path / "inference-probe.yml").write_text(config)
    run = subprocess.run([binary, "check-config", "--config.file", str(tmp_path / "inference-probe.yml")],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "API key set" in run.stdout and "sk-from-a-mounted-secret" not in run.stdout
    # The container mounts the secret where the configuration looks for it.
    mounts = {m["name"]: m["mountPath"] for m in sidecar_container()["volumeMounts"]}
    assert mounts["inference-probe-keys"] + "/" == mounted


def test_builds_use_the_committed_package_resolved():
    """An executable's dependencies must not float: Package.resolved is committed, pins every package
    Package.swift names, and the image, CI and the benchmark build with --force-resolved-versions."""
    tracked = subprocess.run(["git", "ls-files", "Package.resolved"], cwd=ROOT, capture_output=True, text=True)
    assert tracked.returncode != 0 or tracked.stdout.strip() == "Package.resolved"  # a source tarball has no git
    pins = {pin["location"].rstrip("/").removesuffix(".git").rsplit("/", 1)[-1].lower()
            for pin in json.loads((ROOT / "Package.resolved").read_text())["pins"]}
    named = {url.removesuffix(".git").rsplit("/", 1)[-1].lower()
             for url in re.findall(r'\.package\(url:\s*"([^"]+)"', (ROOT / "Package.swift").read_text())}
    assert named and named <= pins, f"not pinned: {named - pins}"
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "COPY Package.swift Package.resolved" in dockerfile and "--force-resolved-versions" in dockerfile
    assert "swift build --force-resolved-versions" in (ROOT / "Tests" / "run").read_text()
    assert "--force-resolved-versions" in (ROOT / "Benchmarks" / "run").read_text()


def test_release_builds_compile_a_section_per_function_and_the_image_has_every_file_the_link_reads():
    """The release link orders single functions (Package.swift, releaseLinking) only when every module is
    compiled with a section per function: the image and the benchmark build with the toolset that asks for
    it, and the image copies it and the files the link reads (a missing one fails the link, not a test)."""
    toolset = json.loads((DEPLOY / "release-toolset.json").read_text())
    assert toolset["schemaVersion"] == "1.0"
    assert toolset["swiftCompiler"]["extraCLIOptions"] == ["-Xfrontend", "-function-sections"]
    for compiler in ("cCompiler", "cxxCompiler"):
        assert "-ffunction-sections" in toolset[compiler]["extraCLIOptions"]
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "COPY deploy/release-toolset.json" in dockerfile and "--toolset deploy/release-toolset.json" in dockerfile
    assert 'os.path.join("deploy", "release-toolset.json")' in (ROOT / "Benchmarks" / "run").read_text()
    read_by_link = re.findall(r"\\\(Context\.packageDirectory\)/([\w./-]+)", (ROOT / "Package.swift").read_text())
    assert sorted(read_by_link) == ["Sources/inference-probe/link-order.txt",
                                    "Sources/inference-probe/link-private-functions.ld",
                                    "Sources/inference-probe/link-static-libraries"]
    assert "COPY Sources ./Sources" in dockerfile
    for path in read_by_link:
        assert (ROOT / path).exists(), path


def test_the_release_link_takes_libstdcxx_zlib_and_libgcc_from_their_static_archives():
    """The release link searches link-static-libraries first (Package.swift, releaseLinking): each file there
    is a linker script named as the shared library it stands for, sending that -l to the static archive of
    the same library, so that the sidecar loads no shared library but glibc's."""
    folder = ROOT / "Sources" / "inference-probe" / "link-static-libraries"
    archives = {}
    for path in folder.iterdir():
        code = re.fullmatch(r"INPUT\(([^()]*)\)", re.sub(r"/\*.*?\*/", "", path.read_text(), flags=re.S).strip())
        assert code, (path.name, "not a linker script of one INPUT(...)")
        archives[path.name] = code[1].split()
    assert archives == {"libstdc++.so": ["-l:libstdc++.a"], "libz.so": ["-l:libz.a"],
                        "libgcc_s.so": ["-l:libgcc_eh.a", "-l:libgcc.a"]}
