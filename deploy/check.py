#!/usr/bin/env python3
"""Offline checks of everything that deploys Omnibus (`make k8s-check`).

- k8s/: every overlay is rendered with kustomize and every manifest is
  validated against the Kubernetes OpenAPI schemas (kubernetes-validate,
  strict: unknown fields are errors) of the oldest and newest versions we
  support; then what a schema cannot see: each Deployment runs a real
  `omnibus serve <service>`, probes /healthz and /readyz on the HTTP port,
  has requests and limits and a locked-down security context, a
  PodDisruptionBudget, an autoscaler where the issue asks for one; every
  variable it gets is one of the contract's; Services, the Ingress and
  the autoscalers point at things that exist; prod runs a 3-node JetStream
  cluster with the stream at 3 replicas; every Deployment gets a well-formed
  OMNIBUS_CREDENTIALS_KEY that is no placeholder, and prod refuses to render
  without its uncommitted key file; NetworkPolicies admit only Omnibus to
  NATS and PostgreSQL; OMNIBUS_OUTBOUND_ALLOW names CIDRs.
- deploy/Dockerfile: the runtime stage holds exactly the `omnibus` and
  `omnictl` binaries (workspace bin targets), runs as a numeric non-root
  user and installs no build tools.
- deploy/compose.yaml: every service runs a real `omnibus serve <service>`
  with contract variables only, next to NATS with JetStream.

The names it checks against (services, variables, binaries) are read from
the Rust sources, so renaming one there without updating the manifests
fails here.

Exits 1 and lists every problem found; prints one summary line otherwise.
"""

from __future__ import annotations

import base64
import binascii
import glob
import ipaddress
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parent.parent
# The oldest Kubernetes we support and the newest schemas bundled.
KUBERNETES_VERSIONS = ["1.29", "1.37"]
# Services that get a HorizontalPodAutoscaler (issue 6).
AUTOSCALED = re.compile(r"^(conversations|ingress-.+)$")
RUNTIME_PACKAGES_ALLOWED = {"ca-certificates", "tzdata"}
BINARIES = {"omnibus", "omnictl"}

problems: list[str] = []


def problem(where: str, what: str) -> None:
    problems.append(f"{where}: {what}")


# === what the Rust sources define ===


def services() -> set[str]:
    """`omnibus serve <service>` values: the `Service` enum, kebab-cased."""
    source = (ROOT / "crates/server/src/config.rs").read_text()
    body = re.search(r"pub enum Service \{(.*?)\n\}", source, re.S)
    if not body:
        sys.exit("deploy/check.py: no `pub enum Service` in crates/server/src/config.rs")
    variants = re.findall(r"^\s+([A-Z]\w*),", body.group(1), re.M)
    return {re.sub(r"(?<!^)([A-Z])", r"-\1", v).lower() for v in variants}


def variables() -> set[str]:
    """The environment variables the binary reads (`ENV_*` constants)."""
    found = {"RUST_LOG"}
    for path in [
        "crates/server/src/config.rs",
        "crates/server/src/config/media.rs",
        "crates/telemetry/src/config.rs",
    ]:
        source = (ROOT / path).read_text()
        found |= set(re.findall(r'pub const ENV_\w+: &str = "([A-Z0-9_]+)";', source))
    return found


def bin_targets() -> dict[str, str]:
    """Every binary of the workspace, mapped to its package."""
    workspace = tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]
    targets: dict[str, str] = {}
    for pattern in workspace["members"]:
        for member in sorted(glob.glob(str(ROOT / pattern))):
            manifest_path = Path(member) / "Cargo.toml"
            if not manifest_path.exists():
                continue
            manifest = tomllib.loads(manifest_path.read_text())
            package = manifest["package"]["name"]
            for target in manifest.get("bin", []):
                targets[target["name"]] = package
            if (Path(member) / "src/main.rs").exists() and not manifest.get("bin"):
                targets[package] = package
            for extra in (Path(member) / "src/bin").glob("*.rs"):
                targets[extra.stem] = package
    return targets


# === deploy/Dockerfile ===


def check_dockerfile() -> None:
    where = "deploy/Dockerfile"
    text = (ROOT / where).read_text()
    lines = re.sub(r"\\\n", " ", text).splitlines()
    stages: list[tuple[str, list[str]]] = []
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append((line, []))
        elif stages:
            stages[-1][1].append(line)
    if len(stages) < 2:
        return problem(where, "not a multi-stage build")
    final, body = stages[-1]
    if not re.search(r"(-slim|distroless)", final):
        problem(where, f"the runtime stage is not slim or distroless: {final}")
    copies = [l for l in body if l.upper().startswith("COPY")]
    if any("--from" not in c for c in copies):
        problem(where, "the runtime stage copies from the build context (sources?)")
    copied = {Path(c.split()[-2]).name for c in copies}
    if copied != BINARIES:
        problem(where, f"the runtime stage copies {sorted(copied)}, not {sorted(BINARIES)}")
    targets = bin_targets()
    builds = " ".join(l for _, b in stages[:-1] for l in b if "cargo build" in l)
    for binary in BINARIES:
        package = targets.get(binary)
        if package is None:
            problem(where, f"{binary} is not a bin target of the workspace")
        elif f"-p {package}" not in builds:
            problem(where, f"no `cargo build -p {package}` builds {binary}")
    users = [l.split()[1] for l in body if l.upper().startswith("USER ")]
    if not users or not re.fullmatch(r"[1-9]\d*(:[1-9]\d*)?", users[-1]):
        problem(where, "the runtime stage must end as a numeric non-root USER")
    for line in body:
        extra = _package_words(line) - RUNTIME_PACKAGES_ALLOWED
        if extra:
            problem(where, f"the runtime stage installs {sorted(extra)}")
        if re.search(r"\b(cargo|rustc|rustup)\b", line):
            problem(where, f"the runtime stage runs a Rust tool: {line}")
    if not any(re.fullmatch(r'ENTRYPOINT \["(/usr/local/bin/)?omnibus"\]', l) for l in body):
        problem(where, 'the entrypoint is not ["omnibus"]')
    ignore = ROOT / "deploy/Dockerfile.dockerignore"
    if not ignore.exists() or "target" not in ignore.read_text().split():
        problem(where, "deploy/Dockerfile.dockerignore must leave target/ out of the context")


def _package_words(line: str) -> set[str]:
    """The words between `install` and the next `&&` of an install command."""
    segment = re.search(r"(?:apt-get install|apk add)(.*?)(?:&&|$)", line)
    if not segment:
        return set()
    return {w for w in segment.group(1).split() if not w.startswith("-")}


# === deploy/compose.yaml ===


def check_compose(known_services: set[str], known_variables: set[str]) -> None:
    where = "deploy/compose.yaml"
    compose = yaml.safe_load((ROOT / where).read_text())
    ran: set[str] = set()
    for name, service in compose["services"].items():
        command = service.get("command") or []
        image = str(service.get("image", ""))
        if image.startswith("nats") and "-js" not in command:
            problem(where, f"{name}: NATS without JetStream (-js)")
        if command[:1] != ["serve"]:
            continue
        if len(command) != 2 or command[1] not in known_services:
            problem(where, f"{name}: `omnibus {' '.join(command)}` is not a service")
        ran.add(command[1] if len(command) > 1 else "")
        for variable in service.get("environment", {}):
            if variable not in known_variables:
                problem(where, f"{name}: {variable} is not a variable omnibus reads")
    for needed in ["conversations", "ingress-telegram"]:
        if needed not in ran:
            problem(where, f"no container runs `omnibus serve {needed}`")


# === k8s/ ===


def kustomize(overlay: Path, where: str | None = None) -> str:
    done = _render(overlay)
    if done.returncode != 0:
        where = where or str(overlay.relative_to(ROOT))
        problem(where, f"kustomize failed: {done.stderr.strip()}")
        return ""
    return done.stdout


def _render(overlay: Path) -> subprocess.CompletedProcess:
    if shutil.which("kubectl"):
        command = ["kubectl", "kustomize", str(overlay)]
    elif shutil.which("kustomize"):
        command = ["kustomize", "build", str(overlay)]
    else:
        sys.exit("deploy/check.py: neither kubectl nor kustomize is installed")
    return subprocess.run(command, capture_output=True, text=True)


# The uncommitted files the prod overlay reads its secrets from, with a
# generator of a throwaway value for each.
PROD_SECRET_FILES = {
    "credentials-key.env": lambda: "OMNIBUS_CREDENTIALS_KEY=k1:" + base64.b64encode(os.urandom(32)).decode(),
    "api-token.env": lambda: "OMNIBUS_API_TOKEN=" + os.urandom(32).hex(),
}


def render_overlay(overlay: Path) -> str:
    """Renders an overlay. Prod needs the operator's secret files (the
    credentials key and the API token), which are never committed: without
    them, rendering must fail (no placeholder can ship), and the check renders
    a copy with freshly generated ones, as an operator would."""
    where = str(overlay.relative_to(ROOT))
    missing = [name for name in PROD_SECRET_FILES if not (overlay / name).exists()]
    if overlay.name != "prod" or not missing:
        return kustomize(overlay)
    if _render(overlay).returncode == 0:
        problem(where, f"renders without {', '.join(missing)}: those secrets must be the operator's")
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "k8s"
        shutil.copytree(ROOT / "k8s", copy)
        for name in missing:
            (copy / "overlays/prod" / name).write_text(PROD_SECRET_FILES[name]() + "\n")
        return kustomize(copy / "overlays/prod", where)


def check_overlay(overlay: Path, known_services: set[str], known_variables: set[str]) -> int:
    where = str(overlay.relative_to(ROOT))
    docs = [d for d in yaml.safe_load_all(render_overlay(overlay)) if d]
    for doc in docs:
        name = f"{where}: {doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        for version in KUBERNETES_VERSIONS:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as err:
                path = "/".join(str(p) for p in err.path)
                problem(name, f"invalid for Kubernetes {version} at {path}: {err.message}")
            except kubernetes_validate.SchemaNotFoundError:
                problem(name, f"no schema for Kubernetes {version}")
    by_kind: dict[str, dict[str, dict]] = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    check_workloads(where, by_kind, known_services, known_variables)
    check_routing(where, by_kind)
    check_network_policies(where, by_kind)
    if overlay.name == "prod":
        check_prod(where, by_kind)
    return len(docs)


def omnibus_container(deployment: dict) -> dict | None:
    for container in deployment["spec"]["template"]["spec"]["containers"]:
        if container.get("args", [""])[0] == "serve":
            return container
    return None


def env_sources(container: dict, by_kind: dict) -> dict[str, str]:
    """Variable → where it comes from, for one container."""
    found = {e["name"]: "env" for e in container.get("env", [])}
    for source in container.get("envFrom", []):
        for kind, key in [("ConfigMap", "configMapRef"), ("Secret", "secretRef")]:
            if key not in source:
                continue
            ref = source[key]["name"]
            obj = by_kind.get(kind, {}).get(ref)
            if obj is None:
                if not source[key].get("optional"):
                    found[f"<missing {kind} {ref}>"] = ref
                continue
            for variable, value in (obj.get("stringData") or {}).items():
                found[variable] = str(value)
            for variable, value in (obj.get("data") or {}).items():
                found[variable] = _decoded(kind, value)
    return found


def _decoded(kind: str, value: str) -> str:
    """A Secret's `data` is base64; a ConfigMap's is plain."""
    if kind != "Secret":
        return str(value)
    try:
        return base64.b64decode(str(value), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return str(value)


def check_workloads(where: str, by_kind: dict, known_services: set, known_variables: set):
    deployments = by_kind.get("Deployment", {})
    if not deployments:
        problem(where, "no Deployment")
    for name, deployment in deployments.items():
        at = f"{where}: Deployment/{name}"
        container = omnibus_container(deployment)
        if container is None:
            problem(at, "no container runs `omnibus serve <service>`")
            continue
        args = container["args"]
        if len(args) != 2 or args[1] not in known_services:
            problem(at, f"`omnibus {' '.join(args)}` is not a service")
        elif args[1] != name:
            problem(at, f"runs `serve {args[1]}`; name the Deployment after its service")
        ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
        if ports.get("http") != 8080 or ports.get("grpc") != 50051:
            problem(at, "ports must be http 8080 and grpc 50051 (the contract's defaults)")
        for probe, path in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")]:
            get = container.get(probe, {}).get("httpGet", {})
            if get.get("path") != path or get.get("port") not in ("http", 8080):
                problem(at, f"{probe} must GET {path} on the http port")
        resources = container.get("resources", {})
        for kind in ["requests", "limits"]:
            if not {"cpu", "memory"} <= set(resources.get(kind, {})):
                problem(at, f"resources.{kind} needs cpu and memory")
        check_security(at, deployment["spec"]["template"]["spec"], container)
        env = env_sources(container, by_kind)
        for variable, value in env.items():
            if variable.startswith("<missing"):
                problem(at, f"envFrom refers to a {variable[9:-1]} that is not rendered")
            elif variable not in known_variables:
                problem(at, f"{variable} is not a variable omnibus reads")
        http_addr = env.get("OMNIBUS_HTTP_ADDR", "0.0.0.0:8080")
        if not http_addr.endswith(":8080") or not http_addr.startswith("0.0.0.0"):
            problem(at, f"OMNIBUS_HTTP_ADDR={http_addr} does not match the http port 8080")
        if args[-1] == "conversations" and "OMNIBUS_DATABASE_URL" not in env:
            problem(at, "conversations needs OMNIBUS_DATABASE_URL")
        if "OMNIBUS_API_TOKEN" not in env:
            problem(at, "OMNIBUS_API_TOKEN is not set (the gRPC API would be open)")
        else:
            check_api_token(at, api_token_value(container, by_kind))
        check_credentials_key(at, env.get("OMNIBUS_CREDENTIALS_KEY"))
        check_outbound_allow(at, env.get("OMNIBUS_OUTBOUND_ALLOW"))
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        if not any(selects(p["spec"]["selector"], labels) for p in by_kind.get("PodDisruptionBudget", {}).values()):
            problem(at, "no PodDisruptionBudget selects its pods")
        scaled = [h for h in by_kind.get("HorizontalPodAutoscaler", {}).values()
                  if h["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}]
        if AUTOSCALED.match(name) and not scaled:
            problem(at, "no HorizontalPodAutoscaler scales it")
        if scaled and "replicas" in deployment["spec"]:
            problem(at, "sets replicas although an autoscaler owns them")


# omnibus refuses to start with a shorter token (MIN_API_TOKEN_LEN in
# crates/server/src/config.rs); placeholders must never reach a cluster.
MIN_API_TOKEN_LEN = 16
PLACEHOLDER = re.compile(r"change-?me|replace|placeholder|example|xxx", re.IGNORECASE)


def api_token_value(container: dict, by_kind: dict) -> str | None:
    """The rendered OMNIBUS_API_TOKEN, when the manifests hold it."""
    for source in container.get("envFrom", []):
        ref = source.get("secretRef", {}).get("name")
        secret = by_kind.get("Secret", {}).get(ref) if ref else None
        if secret and "OMNIBUS_API_TOKEN" in (secret.get("stringData") or {}):
            return str(secret["stringData"]["OMNIBUS_API_TOKEN"])
        if secret and "OMNIBUS_API_TOKEN" in (secret.get("data") or {}):
            return base64.b64decode(secret["data"]["OMNIBUS_API_TOKEN"]).decode(errors="replace")
    return None


def check_api_token(at: str, token: str | None) -> None:
    if token is None:
        return
    if len(token.strip()) < MIN_API_TOKEN_LEN or PLACEHOLDER.search(token):
        problem(at, "OMNIBUS_API_TOKEN is a placeholder or shorter than "
                f"{MIN_API_TOKEN_LEN} characters (omnibus would refuse to start): "
                "set a random one, e.g. `openssl rand -hex 32`")
PLACEHOLDER_WORDS = re.compile(r"change|placeholder|example|replace|todo|secret|xxx", re.I)


def check_credentials_key(at: str, value: str | None) -> None:
    """`<key id>:<32 bytes, base64>`, several separated by commas (the
    contract); refuses a missing key and anything that looks like a
    placeholder rather than random bytes."""
    if not value:
        return problem(at, "OMNIBUS_CREDENTIALS_KEY is not set (credentials would be stored in the clear)")
    for entry in value.split(","):
        key_id, _, material = entry.strip().partition(":")
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", key_id):
            return problem(at, f"OMNIBUS_CREDENTIALS_KEY: {key_id!r} is not a key id")
        if PLACEHOLDER_WORDS.search(entry):
            return problem(at, f"OMNIBUS_CREDENTIALS_KEY {key_id}: a placeholder, not a key")
        try:
            raw = base64.b64decode(material + "=" * (-len(material) % 4), validate=True)
        except binascii.Error:
            return problem(at, f"OMNIBUS_CREDENTIALS_KEY {key_id}: not base64")
        if len(raw) != 32:
            return problem(at, f"OMNIBUS_CREDENTIALS_KEY {key_id}: {len(raw)} bytes, not 32")
        if len(set(raw)) < 16:
            return problem(at, f"OMNIBUS_CREDENTIALS_KEY {key_id}: a placeholder, not random bytes")


def check_outbound_allow(at: str, value: str | None) -> None:
    """The base lets Omnibus reach the cluster's service range (internal
    webhook receivers); it must be CIDRs or host names."""
    if not value:
        return problem(at, "OMNIBUS_OUTBOUND_ALLOW is not set (internal webhook receivers are unreachable)")
    for entry in value.split(","):
        entry = entry.strip()
        if "/" in entry:
            try:
                ipaddress.ip_network(entry, strict=True)
            except ValueError as err:
                problem(at, f"OMNIBUS_OUTBOUND_ALLOW: {entry!r} is not a CIDR ({err})")
        elif not re.fullmatch(r"[A-Za-z0-9.-]+|[0-9a-fA-F:]+", entry):
            problem(at, f"OMNIBUS_OUTBOUND_ALLOW: {entry!r} is neither a CIDR nor a host")


# Which pods only Omnibus may reach, and on which port; the listed peers
# (the server's own cluster routes) may reach them on theirs.
PROTECTED = {"nats": (4222, {("nats", 6222)}), "postgres": (5432, set())}


def check_network_policies(where: str, by_kind: dict) -> None:
    """Every NATS and PostgreSQL pod is selected by an Ingress policy that
    admits Omnibus's pods on the client port and nothing else."""
    policies = by_kind.get("NetworkPolicy", {})
    omnibus = {"app.kubernetes.io/name": "omnibus"}
    for labels in pod_labels(by_kind):
        name = labels.get("app.kubernetes.io/name")
        if name not in PROTECTED:
            continue
        at = f"{where}: {name} pods"
        client_port, peers = PROTECTED[name]
        selecting = [p for p in policies.values()
                     if selects(p["spec"].get("podSelector", {}), labels)
                     and "Ingress" in p["spec"].get("policyTypes", [])]
        if not selecting:
            problem(at, "no NetworkPolicy restricts who reaches them")
            continue
        admits_omnibus = False
        for policy in selecting:
            for rule in policy["spec"].get("ingress", []):
                sources = rule.get("from")
                ports = {p.get("port") for p in rule.get("ports", [])}
                if not sources or not ports:
                    problem(at, f"NetworkPolicy/{policy['metadata']['name']} admits every source or port")
                    continue
                for peer in sources:
                    if set(peer) != {"podSelector"}:
                        problem(at, f"NetworkPolicy/{policy['metadata']['name']} admits {sorted(peer)}")
                        continue
                    match = peer["podSelector"].get("matchLabels", {})
                    if match == omnibus and ports == {client_port}:
                        admits_omnibus = True
                    elif not any(match == {"app.kubernetes.io/name": n} and ports == {port}
                                 for n, port in peers):
                        problem(at, f"NetworkPolicy/{policy['metadata']['name']} admits {match} on {sorted(ports)}")
        if not admits_omnibus:
            problem(at, f"no NetworkPolicy admits Omnibus on port {client_port}")
        if not any(selects(omnibus, d["spec"]["template"]["metadata"]["labels"])
                   for d in by_kind.get("Deployment", {}).values()):
            problem(at, "no Deployment carries app.kubernetes.io/name: omnibus")


def check_security(at: str, pod: dict, container: dict) -> None:
    pod_context = pod.get("securityContext", {})
    context = container.get("securityContext", {})
    if not (context.get("runAsNonRoot") or pod_context.get("runAsNonRoot")):
        problem(at, "runAsNonRoot is not set")
    if context.get("runAsUser", pod_context.get("runAsUser")) in (None, 0):
        problem(at, "runAsUser must be a non-root uid")
    if context.get("readOnlyRootFilesystem") is not True:
        problem(at, "readOnlyRootFilesystem must be true")
    if context.get("allowPrivilegeEscalation") is not False:
        problem(at, "allowPrivilegeEscalation must be false")
    if context.get("capabilities", {}).get("drop") != ["ALL"]:
        problem(at, "capabilities must drop ALL")


def selects(selector: dict, labels: dict) -> bool:
    match = selector.get("matchLabels", selector)
    return bool(match) and all(labels.get(k) == v for k, v in match.items())


def pod_labels(by_kind: dict) -> list[dict]:
    return [w["spec"]["template"]["metadata"]["labels"]
            for kind in ["Deployment", "StatefulSet"] for w in by_kind.get(kind, {}).values()]


def check_routing(where: str, by_kind: dict) -> None:
    services = by_kind.get("Service", {})
    for name, service in services.items():
        if not any(selects(service["spec"].get("selector", {}), l) for l in pod_labels(by_kind)):
            problem(f"{where}: Service/{name}", "its selector matches no pods")
    for name in by_kind.get("Deployment", {}):
        ports = {p["name"] for p in services.get(name, {}).get("spec", {}).get("ports", [])}
        if not {"http", "grpc"} <= ports:
            problem(f"{where}: Deployment/{name}", "needs a Service of the same name with http and grpc ports")
    for hpa_name, hpa in by_kind.get("HorizontalPodAutoscaler", {}).items():
        if hpa["spec"]["scaleTargetRef"]["name"] not in by_kind.get("Deployment", {}):
            problem(f"{where}: HorizontalPodAutoscaler/{hpa_name}", "scales no rendered Deployment")
    routed: set[str] = set()
    for name, ingress in by_kind.get("Ingress", {}).items():
        for rule in ingress["spec"].get("rules", []):
            for path in rule.get("http", {}).get("paths", []):
                at = f"{where}: Ingress/{name} {path['path']}"
                backend = path["backend"]["service"]
                found = re.fullmatch(r"/webhooks/([a-z]+)/?", path["path"])
                if re.fullmatch(r"/media/?", path["path"]):
                    # Attachments' files: the conversations service knows the
                    # message (and asks the messenger's ingress over NATS).
                    expected = "conversations"
                elif found:
                    expected = f"ingress-{found.group(1)}"
                else:
                    problem(at, "only /webhooks/<messenger> and /media are public")
                    continue
                if backend["name"] != expected:
                    problem(at, f"routes to {backend['name']}, not {expected}")
                ports = services.get(backend["name"], {}).get("spec", {}).get("ports", [])
                if backend["port"].get("name") not in {p["name"] for p in ports}:
                    problem(at, f"{backend['name']} has no port {backend['port']}")
                routed.add(backend["name"])
    for name in by_kind.get("Deployment", {}):
        if name.startswith("ingress-") and name not in routed:
            problem(f"{where}: Deployment/{name}", "no Ingress path routes its webhooks")


def check_prod(where: str, by_kind: dict) -> None:
    nats = by_kind.get("StatefulSet", {}).get("nats")
    config = "".join(by_kind.get("ConfigMap", {}).get("nats-config", {}).get("data", {}).values())
    if not nats or nats["spec"].get("replicas") != 3:
        problem(where, "NATS must be a 3-replica StatefulSet")
    if "jetstream" not in config or "cluster" not in config:
        problem(where, "the NATS configuration must enable JetStream and clustering")
    variables = {}
    for name, config_map in by_kind.get("ConfigMap", {}).items():
        if name.startswith("omnibus-config"):
            variables.update(config_map.get("data", {}))
    if variables.get("OMNIBUS_STREAM_REPLICAS") != "3":
        problem(where, "OMNIBUS_STREAM_REPLICAS must be 3")
    secrets = [s for s in by_kind.get("Secret", {}).values()
               if "OMNIBUS_DATABASE_URL" in (s.get("stringData") or {})]
    if not secrets or not secrets[0]["stringData"]["OMNIBUS_DATABASE_URL"].startswith("postgres://"):
        problem(where, "an example Secret with a postgres:// OMNIBUS_DATABASE_URL is expected")


def main() -> int:
    known_services = services()
    known_variables = variables()
    check_dockerfile()
    check_compose(known_services, known_variables)
    overlays = sorted(p for p in (ROOT / "k8s/overlays").iterdir() if p.is_dir())
    manifests = sum(check_overlay(o, known_services, known_variables) for o in overlays)
    if problems:
        print(f"k8s-check: {len(problems)} problem(s):", file=sys.stderr)
        for line in problems:
            print(f"  {line}", file=sys.stderr)
        return 1
    names = ", ".join(o.name for o in overlays)
    print(
        f"k8s-check: {manifests} manifests ({names}) valid against Kubernetes "
        f"{' and '.join(KUBERNETES_VERSIONS)}; Dockerfile and compose.yaml consistent"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
