"""``compose.yaml`` and the ``Dockerfile`` agree with the settings the app really reads.

There is no container engine here, so the deployment is checked by loading it the
way the containers would: the app service's environment, plus a secrets folder
holding exactly the compose secrets it mounts (made by the operators' own
``scripts/make_compose_secrets.py``), go through ``flight_app.settings.load_settings``
with ``APP_ENV=prod``, and gunicorn's configuration is imported under the same
environment. A variable the app does not know, a secret prod needs but compose
does not mount, or a port that disagrees between nginx, compose, the image and
the app fails here.
"""

from __future__ import annotations

import importlib.util
import os
import re
import runpy
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml  # type: ignore[import-untyped, unused-ignore]
from pydantic import SecretStr

from flight_app.settings import Settings, SettingsError, env_var_name, load_settings

# run_path, not run_module: another test may already have imported the module, and
# run_module warns then (an error under filterwarnings = error).
_GUNICORN_CONF = str(importlib.util.find_spec("flight_app.gunicorn_conf").origin)  # type: ignore[union-attr]

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
TEMPLATE = ROOT / "deploy" / "nginx" / "flight-app.conf.template"
APP_SERVICES = ("app", "migrate")
SECRETS_MOUNT = "/run/secrets"  # where compose mounts a secret without a target
# Variables the settings loader reads that are not themselves settings.
LOADER_VARIABLES = {"FLIGHT_APP_SECRETS_DIR", "FLIGHT_APP_CONFIG_DIR"}
PROD_SECRETS = ("secret_key", "pseudonym_key", "mfa_encryption_key", "metrics_token")


def _load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


make_compose_secrets = _load_script("make_compose_secrets")


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    return loaded


COMPOSE = _compose()
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]


def _environment(service: str) -> dict[str, str]:
    environment = SERVICES[service]["environment"]
    assert isinstance(environment, dict), "use the mapping form: one variable per key"
    return {str(key): str(value) for key, value in environment.items()}


def _secret_names(service: str) -> list[str]:
    names = []
    for entry in SERVICES[service].get("secrets", []):
        if isinstance(entry, dict):
            assert entry.get("target", entry["source"]) == entry["source"], (
                "the app finds a secret by its file name: keep target == source"
            )
            entry = entry["source"]
        names.append(str(entry))
    return names


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the final stage, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text(encoding="utf-8"))
    lines = [line.strip() for line in text.splitlines()]
    instructions = [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]
    last_from = max(i for i, (word, _) in enumerate(instructions) if word == "FROM")
    return instructions[last_from:]


def _dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for word, arguments in _dockerfile_instructions():
        if word == "ENV":
            for pair in arguments.split():
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def _seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+)(ms|s|m)", duration)
    assert match, f"unexpected duration {duration!r}"
    return int(match[1]) * {"ms": 0.001, "s": 1.0, "m": 60.0}[match[2]]


LoadCompose = Callable[..., Settings]


@pytest.fixture
def load_compose(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[LoadCompose, Path, Path]:
    """``load(service, without=())``: its settings as the container would load them.

    Returns the loader, the folder of generated secrets (``./secrets``) and the
    folder standing in for ``/run/secrets`` of the last service loaded.
    """
    generated = tmp_path / "secrets"
    make_compose_secrets.make_secrets(generated)
    mounted = tmp_path / "run-secrets"

    def load(service: str = "app", without: tuple[str, ...] = ()) -> Settings:
        for key in list(os.environ):
            if key.upper().startswith("FLIGHT_APP_") or key.upper() == "APP_ENV":
                monkeypatch.delenv(key)
        shutil.rmtree(mounted, ignore_errors=True)
        mounted.mkdir()
        for name in _secret_names(service):
            source = Path(COMPOSE["secrets"][name]["file"])
            assert source.parent == Path("secrets"), f"{name}: secrets live in ./secrets/"
            if name not in without:
                shutil.copy(generated / source.name, mounted / name)
        environment = _environment(service)
        assert environment["FLIGHT_APP_SECRETS_DIR"] == SECRETS_MOUNT
        environment["FLIGHT_APP_SECRETS_DIR"] = str(mounted)
        for key, value in environment.items():
            monkeypatch.setenv(key, value)
        return load_settings()

    return load, generated, mounted


@pytest.mark.parametrize("service", APP_SERVICES)
def test_every_variable_in_compose_is_a_setting_the_app_reads(service: str) -> None:
    known = {env_var_name(name) for name in Settings.model_fields}
    for key in _environment(service):
        if key in LOADER_VARIABLES or key == "APP_ENV":
            continue
        assert key.startswith("FLIGHT_APP_"), f"{service}: {key} is not the app's variable"
        base = key.removesuffix("_FILE")
        assert base in known, f"{service}: {key} is not a setting of flight_app.settings"


@pytest.mark.parametrize("service", APP_SERVICES)
def test_every_mounted_secret_is_a_setting(service: str) -> None:
    fields = set(Settings.model_fields)
    for name in _secret_names(service):
        assert name in fields, f"{service}: secret {name} names no setting"
        assert name in COMPOSE["secrets"], f"{service}: secret {name} is not declared"


def test_declared_secrets_are_the_ones_the_script_makes() -> None:
    assert set(COMPOSE["secrets"]) == set(make_compose_secrets.ALL_SECRETS)
    used = {n for s in SERVICES for n in _secret_names(s)}
    assert used == set(COMPOSE["secrets"]), "a declared secret nobody mounts"


@pytest.mark.parametrize("service", APP_SERVICES)
def test_compose_settings_load_in_prod(
    service: str, load_compose: tuple[LoadCompose, Path, Path]
) -> None:
    load, generated, _ = load_compose
    settings = load(service)
    assert settings.app_env == "prod"
    assert settings.trusted_proxies == 1  # nginx, the one hop in front
    assert settings.host == "0.0.0.0"
    assert settings.workers > 1
    assert not settings.limits_per_process
    assert settings.metrics == "token"
    assert settings.metrics_token is not None
    for name in ("secret_key", "pseudonym_key", "mfa_encryption_key", "admin_password"):
        value = getattr(settings, name)
        assert isinstance(value, SecretStr)
        expected = (generated / name).read_text(encoding="utf-8").rstrip("\n")
        assert value.get_secret_value() == expected, f"{name} is not read from its secret"
    # The database: the secret, pointing at the compose service with its role and db.
    url = urlsplit(settings.effective_database_url)
    postgres = _environment("postgres")
    assert url.scheme == "postgresql+psycopg"  # the driver the image installs
    assert (url.hostname, url.port) == ("postgres", 5432)
    assert url.username == postgres["POSTGRES_USER"]
    assert url.path == f"/{postgres['POSTGRES_DB']}"
    assert url.password == (generated / "postgres_password").read_text().rstrip("\n")
    assert postgres["POSTGRES_PASSWORD_FILE"] == f"{SECRETS_MOUNT}/postgres_password"
    for redis_url in (settings.redis_url, settings.ratelimit_storage_url):
        assert redis_url is not None
        assert urlsplit(redis_url).hostname == "redis"
    # Each path the app writes is a named volume or the tmpfs, never the read-only root.
    assert SERVICES["app"]["read_only"] is True
    mounts = {str(v).split(":")[1]: str(v).split(":")[0] for v in SERVICES[service]["volumes"]}
    assert str(settings.effective_log_dir) in mounts
    assert str(settings.effective_keyring_path.parent) in mounts
    assert any(str(settings.instance_path).startswith(t) for t in SERVICES[service]["tmpfs"])
    for source in mounts.values():
        assert source in COMPOSE["volumes"], f"{source} is not a named volume"


@pytest.mark.parametrize("missing", PROD_SECRETS)
def test_prod_refuses_to_start_without_each_mounted_secret(
    missing: str, load_compose: tuple[LoadCompose, Path, Path]
) -> None:
    """The secrets compose mounts are exactly what keeps prod from refusing to start."""
    load, _, _ = load_compose
    with pytest.raises(SettingsError) as caught:
        load("app", without=(missing,))
    assert env_var_name(missing) in caught.value.variables


def test_no_secret_value_in_the_compose_file() -> None:
    secret_fields = {
        name
        for name, field in Settings.model_fields.items()
        if field.annotation in (SecretStr, SecretStr | None)
    }
    assert {"secret_key", "pseudonym_key", "admin_password"} <= secret_fields
    for service, spec in SERVICES.items():
        for key, value in _environment(service).items() if "environment" in spec else []:
            name = key.removeprefix("FLIGHT_APP_").lower()
            assert name not in secret_fields, f"{service}: {key} must be a compose secret"
            assert "PASSWORD" not in key or key.endswith("_FILE"), f"{service}: {key}"
            if "://" in value:
                assert urlsplit(value).password is None, f"{service}: {key} holds a password"


def test_ports_agree_between_nginx_compose_image_and_app(
    load_compose: tuple[LoadCompose, Path, Path],
) -> None:
    load, _, _ = load_compose
    settings = load("app")
    proxy = _environment("proxy")
    host, _, port = proxy["FLIGHT_APP_UPSTREAM"].rpartition(":")
    assert host == "app"
    assert int(port) == settings.port
    assert [str(p) for p in SERVICES["app"]["expose"]] == [str(settings.port)]
    # Published as ${FLIGHT_APP_PORT:-8000} on the host, to the port nginx listens on.
    (published,) = SERVICES["proxy"]["ports"]
    outside, _, inside = str(published).rpartition(":")
    assert outside == "${FLIGHT_APP_PORT:-8000}"
    assert inside == proxy["NGINX_PORT"]
    assert Settings.model_fields["port"].default == 8000  # the contract's default
    assert f"127.0.0.1:{proxy['NGINX_PORT']}/" in " ".join(SERVICES["proxy"]["healthcheck"]["test"])
    # The image serves, exposes and health-checks the same port.
    image_env = _dockerfile_env()
    assert image_env["FLIGHT_APP_PORT"] == str(settings.port)
    exposed = [args for word, args in _dockerfile_instructions() if word == "EXPOSE"]
    assert exposed == [str(settings.port)]


def test_nginx_template_gets_every_variable_it_uses() -> None:
    names = re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", TEMPLATE.read_text(encoding="utf-8"))
    used = {name for name in names if name.isupper()}  # nginx's own $variables are lower case
    proxy = _environment("proxy")
    assert used == {"FLIGHT_APP_UPSTREAM", "NGINX_PORT"}
    assert used <= set(proxy)
    # envsubst must leave nginx's own $variables alone: only these two are substituted.
    pattern = proxy["NGINX_ENVSUBST_FILTER"].replace("$$", "$")
    assert all(re.search(pattern, name) for name in used)
    assert not re.search(pattern, "NGINX_VERSION")
    assert not re.search(pattern, "HOSTNAME")
    (mount,) = SERVICES["proxy"]["volumes"]
    source, target, mode = str(mount).split(":")
    assert (ROOT / source).resolve() == TEMPLATE
    assert target.startswith("/etc/nginx/templates/")
    assert target.endswith(".conf.template")
    assert mode == "ro"


def test_stop_grace_period_outlasts_gunicorn_graceful_timeout(
    load_compose: tuple[LoadCompose, Path, Path],
) -> None:
    load, _, _ = load_compose
    load("app")  # the compose environment, as gunicorn's master would see it
    conf = runpy.run_path(_GUNICORN_CONF)
    assert conf["bind"] == "0.0.0.0:8000"
    grace = _seconds(SERVICES["app"]["stop_grace_period"])
    assert grace >= conf["graceful_timeout"] + 5, "docker would SIGKILL a graceful stop"
    assert SERVICES["app"]["stop_signal"] == "SIGTERM"
    stop = [args for word, args in _dockerfile_instructions() if word == "STOPSIGNAL"]
    assert stop == ["SIGTERM"]
    # exec form: `flight-app serve` execs gunicorn as PID 1, which gets SIGTERM itself.
    entry = [args for word, args in _dockerfile_instructions() if word == "ENTRYPOINT"]
    assert entry == ['["flight-app"]']


def test_every_service_is_healthchecked_and_started_after_its_dependencies() -> None:
    healthcheck = [args for word, args in _dockerfile_instructions() if word == "HEALTHCHECK"]
    assert len(healthcheck) == 1
    assert "/health/ready" in healthcheck[0]
    for name, spec in SERVICES.items():
        if name not in APP_SERVICES:  # the app's check is the image's HEALTHCHECK
            assert spec["healthcheck"]["test"], f"{name} has no healthcheck"
        for dependency, condition in spec.get("depends_on", {}).items():
            expected = (
                "service_completed_successfully" if dependency == "migrate" else "service_healthy"
            )
            assert condition == {"condition": expected}, f"{name} -> {dependency}"
    assert set(SERVICES["app"]["depends_on"]) == {"postgres", "redis", "migrate"}
    assert set(SERVICES["proxy"]["depends_on"]) == {"app"}


def test_image_runs_as_non_root_with_prod_defaults() -> None:
    users = [args for word, args in _dockerfile_instructions() if word == "USER"]
    assert users
    assert users[-1].split(":")[0] not in {"0", "root"}
    env = _dockerfile_env()
    assert env["APP_ENV"] == "prod"
    known = {env_var_name(name) for name in Settings.model_fields}
    assert {k for k in env if k.startswith("FLIGHT_APP_")} <= known
    froms = [line for line in DOCKERFILE.read_text().splitlines() if line.startswith("FROM ")]
    for line in froms:
        image = line.split()[1]
        assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+@sha256:[0-9a-f]{64}", image), line


def test_make_compose_secrets_keeps_existing_files(tmp_path: Path) -> None:
    folder = tmp_path / "secrets"
    first = make_compose_secrets.make_secrets(folder)
    assert set(first) == set(make_compose_secrets.ALL_SECRETS)
    before = {p.name: p.read_text() for p in folder.iterdir()}
    (folder / "metrics_token").unlink()
    assert make_compose_secrets.make_secrets(folder) == ["metrics_token"]
    after = {p.name: p.read_text() for p in folder.iterdir()}
    assert {k: v for k, v in after.items() if k != "metrics_token"} == {
        k: v for k, v in before.items() if k != "metrics_token"
    }
    assert folder.stat().st_mode & 0o777 == 0o700
    assert all(p.stat().st_mode & 0o777 == 0o644 for p in folder.iterdir())
    assert len(set(before.values())) == len(before), "every secret is its own random value"
