#!/usr/bin/env python3
"""Replays the build stages of deploy/Dockerfile against the checkout
(`make image-check`, run by CI).

No image builder on this machine can pull base images, so `docker build`
cannot run here; yet a broken Dockerfile breaks every deployment. This
script does what the builder would do for the stages that compile code
(`skeleton` and `builder`), with the Dockerfile's own commands:

- the build context is the checkout as `docker build .` sees it: git's
  files (tracked and untracked, not ignored) minus
  deploy/Dockerfile.dockerignore;
- `WORKDIR`, `ENV`, `COPY` (from the context or `--from=<stage>`) and `RUN`
  are carried out in a folder per stage, the stage's absolute paths
  (`/src`, `/skeleton`, `/out`, ...) mapped below it; `RUN --mount=...`
  options are dropped (caches only);
- every `RUN` runs with `bash -euo pipefail`, so a failing command fails the
  replay with its output, as it would fail `docker build`.

The base images' own contents are not replayed: the builder is assumed to
have this machine's Rust toolchain, and the runtime stage (apt-get of
ca-certificates) is left to deploy/check.py's static checks.

The stage folders live under target/image-replay, and the builder's
target/ is kept between runs there, so a second run only rebuilds what
changed, as Docker's cache mount would.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "deploy/Dockerfile"
IGNORE = ROOT / "deploy/Dockerfile.dockerignore"
WORK = ROOT / "target/image-replay"
# Stages that compile; the runtime stage only installs packages.
REPLAYED = ("skeleton", "builder")


def instructions(text: str) -> list[tuple[str, str]]:
    """(keyword, arguments) of each instruction, continuation lines joined."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.rstrip()
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if pending and line.lstrip().startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        pending += line
        keyword, _, args = pending.strip().partition(" ")
        out.append((keyword.upper(), args.strip()))
        pending = ""
    return out


def stages(text: str) -> dict[str, list[tuple[str, str]]]:
    """Instructions of each named stage, with ARG defaults substituted."""
    args: dict[str, str] = {}
    result: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for keyword, rest in instructions(text):
        if keyword == "ARG" and current is None:
            name, _, default = rest.partition("=")
            args[name] = default
            continue
        if keyword == "FROM":
            words = rest.split()
            name = words[-1] if len(words) >= 3 and words[-2].upper() == "AS" else ""
            current = []
            result[name] = current
            continue
        if current is not None:
            for name, value in args.items():
                rest = rest.replace("${" + name + "}", value)
            current.append((keyword, rest))
    return result


def ignored_patterns() -> list[str]:
    lines = IGNORE.read_text().splitlines() if IGNORE.exists() else []
    return [line.strip().strip("/") for line in lines if line.strip() and not line.startswith("#")]


def context_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    patterns = ignored_patterns()
    files = []
    for path in filter(None, listed.split("\0")):
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatch(p, pat) or fnmatch.fnmatch(parts[-1], pat) for p in prefixes for pat in patterns):
            continue
        if (ROOT / path).is_file():
            files.append(path)
    return files


class Stage:
    """One stage's file system: absolute paths map below `root`."""

    def __init__(self, name: str, root: Path):
        self.name = name
        self.root = root
        self.workdir = "/"
        self.env: dict[str, str] = {}

    def host(self, path: str) -> Path:
        absolute = path if path.startswith("/") else os.path.join(self.workdir, path)
        return self.root / os.path.normpath(absolute).lstrip("/")

    def map_command(self, command: str) -> str:
        """Absolute paths the stage created are rewritten below its root."""
        names = sorted({p.name for p in self.root.iterdir()} | {"out", "skeleton", "src"})
        pattern = re.compile(r"(?<![\w./-])/(" + "|".join(map(re.escape, names)) + r")(?=[/\s;\"']|$)")
        return pattern.sub(lambda m: str(self.root / m.group(1)), command)


def copy_tree(source: Path, destination: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, destination, dirs_exist_ok=True, symlinks=True)
    else:
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination)


def replay(name: str, steps: list[tuple[str, str]], done: dict[str, Stage]) -> Stage:
    root = WORK / name
    kept_target = WORK / f"{name}-target"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    stage = Stage(name, root)
    for keyword, rest in steps:
        if keyword == "WORKDIR":
            stage.workdir = rest if rest.startswith("/") else os.path.join(stage.workdir, rest)
            stage.host(stage.workdir).mkdir(parents=True, exist_ok=True)
            # The builder's target/ survives between replays (Docker's cache).
            target = stage.host(os.path.join(stage.workdir, "target"))
            kept_target.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                target.symlink_to(kept_target)
        elif keyword == "ENV":
            for pair in shlex.split(rest):
                key, _, value = pair.partition("=")
                stage.env[key] = value
        elif keyword == "COPY":
            words = rest.split()
            source_stage = next((w.split("=", 1)[1] for w in words if w.startswith("--from=")), None)
            paths = [w for w in words if not w.startswith("--")]
            *sources, destination = paths
            for source in sources:
                if source_stage is not None:
                    source_root = done[source_stage]
                    copy_tree(source_root.host(source), stage.host(destination))
                elif source == ".":
                    base = stage.host(destination)
                    for file in context_files():
                        copy_tree(ROOT / file, base / file)
                else:
                    copy_tree(ROOT / source, stage.host(destination))
        elif keyword == "RUN":
            command = re.sub(r"--mount=\S+\s*", "", rest).strip()
            mapped = stage.map_command(command)
            print(f"[{name}] RUN {command}", flush=True)
            env = {**os.environ, **stage.env}
            result = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", mapped],
                cwd=stage.host(stage.workdir),
                env=env,
            )
            if result.returncode != 0:
                print(f"image-check: stage {name}: RUN failed with exit code {result.returncode}", file=sys.stderr)
                sys.exit(1)
        elif keyword in {"ARG", "LABEL", "EXPOSE", "USER", "ENTRYPOINT", "CMD"}:
            continue
        else:
            print(f"image-check: stage {name}: {keyword} is not replayed", file=sys.stderr)
            sys.exit(1)
    return stage


def main() -> None:
    all_stages = stages(DOCKERFILE.read_text())
    missing = [name for name in REPLAYED if name not in all_stages]
    if missing:
        sys.exit(f"image-check: deploy/Dockerfile has no stage {', '.join(missing)}")
    done: dict[str, Stage] = {}
    for name in REPLAYED:
        done[name] = replay(name, all_stages[name], done)
    out = done["builder"].host("/out")
    built = sorted(p.name for p in out.iterdir()) if out.exists() else []
    if built != ["omnibus", "omnictl"]:
        sys.exit(f"image-check: the builder stage produced {built}, expected omnibus and omnictl")
    print("image-check: the Dockerfile's skeleton and builder stages build omnibus and omnictl")


if __name__ == "__main__":
    main()
