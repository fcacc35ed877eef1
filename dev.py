"""Set-up and everyday commands, needing nothing but Python 3 to start with.

    python3 dev.py sync     set up .venv, then run a real `fivetran debug` sync into files/warehouse.db: against
                            the Egnyte tenant in configuration.json, or against a local sandbox tenant when
                            configuration.json still holds its placeholders; prints the rows per table
    python3 dev.py setup-test
                            set up .venv, then run the setup form's connection tests (`fivetran configuration
                            --test`): against the Egnyte tenant in configuration.json, or against a local sandbox
                            tenant when configuration.json still holds its placeholders
    python3 dev.py test     set up .venv, then run ruff, mypy (strict, on egnyte_async: see mypy.ini) and the
                            whole test suite
    python3 dev.py bench    set up .venv, then run the benchmark (see bench/README.md)
    python3 dev.py package  stage only the runtime files in build/deploy and run `fivetran package` on them

Each command creates `.venv` on first use and reinstalls requirements-dev.txt whenever it changes.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import venv
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
STAMP = VENV / ".requirements.sha256"
REQUIREMENT_FILES = ("requirements.txt", "requirements-dev.txt")
#: What Fivetran needs to run the connector; nothing else is deployed.
RUNTIME_FILES = ("connector.py", "requirements.txt", "configuration.json", "egnyte_async")
#: The sandbox tenant `sync` uses when no Egnyte tenant is configured.
DEMO_TENANT = {
    "--users": "300",
    "--groups": "25",
    "--members-per-group": "12",
    "--notes": "1500",
    "--bookmarks-per-user": "2",
    "--qps-limit": "20",
    "--daily-quota": "5000",
    "--latency-ms": "40",
    "--jitter-ms": "10",
}


def ensure_venv() -> None:
    """Creates .venv and installs the requirements when they changed since the last install."""
    digest = hashlib.sha256(b"".join((ROOT / name).read_bytes() for name in REQUIREMENT_FILES)).hexdigest()
    if PYTHON.exists() and STAMP.exists() and STAMP.read_text() == digest:
        return
    if not PYTHON.exists():
        print("creating .venv ...", flush=True)
        venv.create(VENV, with_pip=True)
    print("installing requirements-dev.txt into .venv ...", flush=True)
    pip = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-r", str(ROOT / "requirements-dev.txt")], check=True)
    STAMP.write_text(digest)


def venv_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["DO_NOT_TRACK"] = "1"
    env["PYTHONPATH"] = str(ROOT)
    return env


def run(command: list[str], **kwargs) -> int:
    return subprocess.run(command, cwd=ROOT, env=venv_env(), **kwargs).returncode


def has_real_configuration() -> bool:
    try:
        configuration = json.loads((ROOT / "configuration.json").read_text())
    except (OSError, ValueError):
        return False
    domain = str(configuration.get("domain", ""))
    return bool(domain) and not (domain.startswith("<") and domain.endswith(">"))


@contextlib.contextmanager
def demo_sandbox(scratch: Path) -> Iterator[Path]:
    """Serves the demo tenant on a free local port; yields a configuration.json (in `scratch`) that reads it: the
    settings of the project's configuration.json, pointed at the sandbox."""
    ready = scratch / "ready.json"
    flags = [item for pair in DEMO_TENANT.items() for item in pair]
    sandbox = subprocess.Popen(
        [str(PYTHON), "-m", "egnyte_sandbox", "--port", "0", "--ready-file", str(ready), *flags],
        cwd=ROOT,
        env=venv_env(),
    )
    try:
        if not wait_for(ready, sandbox):
            raise SystemExit("the local Egnyte sandbox did not start")
        sandbox_info = json.loads(ready.read_text())
        configuration = json.loads((ROOT / "configuration.json").read_text())
        configuration.update(
            domain="sandbox",
            api_token=sandbox_info["access_token"],
            base_url=sandbox_info["base_url"],
            requests_per_second=DEMO_TENANT["--qps-limit"],
            daily_request_limit=DEMO_TENANT["--daily-quota"],
            sync_frequency_hours="24",
        )
        config_path = scratch / "configuration.json"
        config_path.write_text(json.dumps(configuration, indent=2))
        print(f"no Egnyte tenant configured: using the local sandbox at {sandbox_info['base_url']}", flush=True)
        yield config_path
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=30)


def cmd_sync(args: argparse.Namespace) -> int:
    ensure_venv()
    if args.fresh:
        shutil.rmtree(ROOT / "files", ignore_errors=True)
    if has_real_configuration():
        print("configuration.json names an Egnyte domain: syncing it", flush=True)
        code = run([str(BIN / "fivetran"), "debug", "--configuration", "configuration.json"])
        return code or report()
    with tempfile.TemporaryDirectory(prefix="egnyte-sandbox-") as scratch, demo_sandbox(Path(scratch)) as config_path:
        code = run([str(BIN / "fivetran"), "debug", "--configuration", str(config_path)])
    return code or report()


def cmd_setup_test(args: argparse.Namespace) -> int:
    """`fivetran configuration --test` reads the project's own configuration.json; for the sandbox, connector.py is
    copied next to the sandbox's configuration.json (egnyte_async is found through PYTHONPATH)."""
    ensure_venv()
    if has_real_configuration():
        print("configuration.json names an Egnyte domain: testing it", flush=True)
        return run([str(BIN / "fivetran"), "configuration", "--test", str(ROOT)])
    with tempfile.TemporaryDirectory(prefix="egnyte-sandbox-") as scratch, demo_sandbox(Path(scratch)) as config_path:
        shutil.copy2(ROOT / "connector.py", config_path.parent / "connector.py")
        return run([str(BIN / "fivetran"), "configuration", "--test", str(config_path.parent)])


def wait_for(ready: Path, process: subprocess.Popen) -> bool:
    """Waits for the sandbox's ready file (written once it accepts connections), or for it to die."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if ready.exists() and ready.stat().st_size:
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.1)
    return False


def report() -> int:
    """Prints what landed in files/warehouse.db, table by table."""
    script = (
        "import duckdb\n"
        "con = duckdb.connect('files/warehouse.db', read_only=True)\n"
        "rows = con.execute(\"select table_name from information_schema.tables where table_schema='tester' "
        'order by 1").fetchall()\n'
        "print('\\nrows in files/warehouse.db (schema tester):')\n"
        "for (name,) in rows:\n"
        "    live, deleted = con.execute(f'select count(*) filter (where not _fivetran_deleted), "
        'count(*) filter (where _fivetran_deleted) from tester."{name}"\').fetchone()\n'
        "    print(f'  {name:<15} {live:>8} rows' + (f' ({deleted} marked deleted)' if deleted else ''))\n"
    )
    return run([str(PYTHON), "-c", script])


def cmd_test(args: argparse.Namespace) -> int:
    ensure_venv()
    code = run([str(BIN / "ruff"), "check", "."])
    if code:
        return code
    code = run([str(BIN / "mypy")])  # mypy.ini names the files and the strictness
    if code:
        return code
    return run([str(PYTHON), "-m", "pytest", *args.pytest_args])


def cmd_bench(args: argparse.Namespace) -> int:
    ensure_venv()
    return run([str(PYTHON), "-m", "bench", *args.bench_args])


def cmd_package(args: argparse.Namespace) -> int:
    """Stages the runtime files alone, so neither tests nor sandbox nor benchmark are shipped or scanned."""
    ensure_venv()
    stage = ROOT / "build" / "deploy"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    for name in RUNTIME_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, stage / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, stage / name)
    print(f"runtime files staged in {stage.relative_to(ROOT)}", flush=True)
    command = [str(BIN / "fivetran"), args.action, str(stage), *args.fivetran_args]
    return subprocess.run(command, cwd=stage, env=venv_env()).returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    sync = commands.add_parser("sync", help="run a real sync into files/warehouse.db")
    sync.add_argument("--fresh", action="store_true", help="delete files/ first (a full re-sync)")
    sync.set_defaults(func=cmd_sync)
    setup_test = commands.add_parser("setup-test", help="run the setup form's connection tests")
    setup_test.set_defaults(func=cmd_setup_test)
    test = commands.add_parser("test", help="run ruff, mypy and the test suite")
    test.add_argument("pytest_args", nargs=argparse.REMAINDER)
    test.set_defaults(func=cmd_test)
    bench = commands.add_parser("bench", help="run the benchmark")
    bench.add_argument("bench_args", nargs=argparse.REMAINDER)
    bench.set_defaults(func=cmd_bench)
    package = commands.add_parser("package", help="stage the runtime files and run fivetran package (or deploy)")
    package.add_argument("--action", choices=("package", "deploy"), default="package")
    package.add_argument("fivetran_args", nargs=argparse.REMAINDER)
    package.set_defaults(func=cmd_package)
    args, unknown = parser.parse_known_args()
    passthrough = {"test": "pytest_args", "bench": "bench_args", "package": "fivetran_args"}
    if args.command in passthrough:
        extra = [*unknown, *getattr(args, passthrough[args.command])]
        setattr(args, passthrough[args.command], [arg for arg in extra if arg != "--"])
    elif unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
