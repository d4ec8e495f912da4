"""The environment is read in one place, once per process, every bad value named at once; docs/deploy.md's table is the code's."""

from __future__ import annotations

import ast
import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from orchestrator.cli import main, send
from orchestrator.host.settings import (
    ApiServerSettings,
    BacktestSettings,
    CustomerSettings,
    DeploySettings,
    DevSettings,
    PruneSettings,
    SettingsError,
    SimulationSettings,
    StatsSettings,
    WorkerSettings,
    open_store,
)
from orchestrator.host.variables import SECRETS, VARIABLES, Process, Variable
from orchestrator.personalization.unsubscribe import UnsubscribeConfig
from orchestrator.privacy.payload_codec import EncryptionCodec, PayloadKey, PayloadKeys
from orchestrator.store import PoolSize
from tests.keys import KEYS_ENVIRONMENT, PAYLOAD_KEYS

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_MODULE = ROOT / "orchestrator" / "host" / "settings.py"
READERS: dict[Process, Callable[[Mapping[str, str]], object]] = {
    Process.API: ApiServerSettings.read,
    Process.WORKER: WorkerSettings.read,
    Process.DEV: DevSettings.read,
    Process.DEPLOY: DeploySettings.read,
    Process.SIMULATE: SimulationSettings.read,
    Process.CUSTOMERS: CustomerSettings.read,
    Process.PRUNE: PruneSettings.read,
    Process.STATS: StatsSettings.read,
    Process.BACKTEST: BacktestSettings.read,
}
KEYS = KEYS_ENVIRONMENT


# --- the table, the documentation and the code agree ----------------------------------------


def documented_rows() -> list[str]:
    """The rows of the table under docs/deploy.md's "Configuration (environment)", header left out."""
    section = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8").split("## Configuration (environment)\n", 1)[1]
    lines = section.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return lines[start + 2 : end]


def row(variable: Variable) -> str:
    return f"| `{variable.name}` | {', '.join(variable.read_by)} | {variable.meaning} | {variable.default} |"


def test_docs_deploy_md_lists_every_variable_the_product_reads_and_no_other() -> None:
    documented = {match.group(1) for line in documented_rows() if (match := re.match(r"\| `([^`]+)` \|", line))}
    in_table = {variable.name for variable in VARIABLES}
    assert not in_table - documented, f"read but missing from docs/deploy.md: {sorted(in_table - documented)}"
    assert not documented - in_table, f"in docs/deploy.md but not in orchestrator/host/variables.py: {sorted(documented - in_table)}"


def test_docs_deploy_md_shows_the_table_of_the_code() -> None:
    expected = [row(variable) for variable in VARIABLES]
    assert documented_rows() == expected, "docs/deploy.md's table should read:\n" + "\n".join(expected)


class RecordingEnvironment(Mapping[str, str]):
    """An environment that remembers which variables were asked for, and whether all were listed (for `PREFIX_<NAME>`)."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.asked: set[str] = set()
        self.listed = False

    def __getitem__(self, name: str) -> str:
        self.asked.add(name)
        return self.values[name]

    def __iter__(self) -> Iterator[str]:
        self.listed = True
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)


@pytest.mark.parametrize("process", list(READERS))
def test_each_process_reads_exactly_the_variables_the_table_says_it_reads(process: Process) -> None:
    environment = RecordingEnvironment(KEYS | {"JOURNEY_API_KEYS": "k"})  # `journey api` needs one to start
    READERS[process](environment)
    read = environment.asked | ({SECRETS} if environment.listed else set())
    assert read == {variable.name for variable in VARIABLES if process in variable.read_by}


def test_journey_send_reads_the_variables_the_table_gives_it_through_its_options() -> None:
    options = {param.envvar: param for command in send.commands.values() for param in command.params if param.envvar}
    rows = {variable.name: variable for variable in VARIABLES if Process.SEND in variable.read_by}
    assert set(options) == set(rows)
    assert {name: f"`{options[name].default}`" if options[name].default else "" for name in rows} == {
        name: variable.default for name, variable in rows.items()
    }
    assert set(READERS) | {Process.SEND} == set(Process)


def test_nothing_but_the_settings_module_reads_the_environment() -> None:
    readers = []
    for top in ("orchestrator", "activities"):
        for path in sorted((ROOT / top).rglob("*.py")):
            if path == SETTINGS_MODULE:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = [node.attr] if isinstance(node, ast.Attribute) else []
                if isinstance(node, ast.ImportFrom) and node.module == "os":
                    names = [alias.name for alias in node.names]
                if {"environ", "environb", "getenv"} & set(names):
                    readers.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not readers, f"read the environment in orchestrator/host/settings.py and pass the value down: {readers}"


# --- checking values ---------------------------------------------------------------------------


def test_every_bad_value_is_reported_at_once_each_naming_its_variable() -> None:
    environment = {
        "JOURNEY_SEND_RETRY_WINDOW": "abc",
        "JOURNEY_FREQUENCY_CAP": "lots",
        "SENDGRID_RATE_PER_SECOND": "fast",
        "PROVIDER_TIMEOUT_SECONDS": "-1",
        "TEMPORAL_SEARCH_ATTRIBUTES": "maybe",
        "JOURNEY_PUBLIC_URL": "journeys.shop.example",
        "TEMPORAL_TLS_CA": "/no/such/ca.pem",
    }
    with pytest.raises(SettingsError) as refused:
        WorkerSettings.read(KEYS | environment)
    named = [re.match(r"[A-Z_]+", problem).group() for problem in refused.value.problems]  # type: ignore[union-attr]
    assert sorted(named) == sorted(environment)
    assert str(refused.value).startswith("7 environment variables cannot be used:\n  ")


def test_a_value_that_was_accepted_before_is_read_as_before() -> None:
    settings = WorkerSettings.read(
        KEYS
        | {
            "TEMPORAL_ADDRESS": "ns.acct.tmprl.cloud:7233",
            "TEMPORAL_NAMESPACE": "ns.acct",
            "TEMPORAL_TASK_QUEUE": "q",
            "TEMPORAL_API_KEY": "tk",
            "TEMPORAL_SEARCH_ATTRIBUTES": "False",
            "DATABASE_URL": "postgresql://u:p@db/journeys",
            "JOURNEY_SECRET_SHOP_TOKEN": "s3",
            "JOURNEY_PUBLIC_URL": "https://j.example/",
            "TWILIO_ACCOUNT_SID": "AC1",
            "TWILIO_AUTH_TOKEN": "t",
            "TWILIO_MESSAGING_SERVICE_SID": "MG1",
            "PROVIDER_TIMEOUT_SECONDS": "2.5",
        }
    )
    temporal = settings.temporal
    assert (temporal.address, temporal.namespace, temporal.task_queue) == ("ns.acct.tmprl.cloud:7233", "ns.acct", "q")
    assert temporal.api_key == "tk"
    assert temporal.search_attributes is False and temporal.tls() is True
    assert settings.database_url == "postgresql://u:p@db/journeys"
    assert settings.delivery.secrets == {"SHOP_TOKEN": "s3"}
    sms = settings.providers.sms
    assert sms is not None and (sms.messaging_service_sid, sms.timeout_seconds) == ("MG1", 2.5)
    assert sms.status_callback == "https://j.example/webhooks/twilio/status"
    assert settings.providers.email is None and settings.providers.push is None


def test_temporal_mtls_needs_both_files() -> None:
    with pytest.raises(SettingsError, match="TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together"):
        DeploySettings.read(KEYS | {"TEMPORAL_TLS_CERT": __file__})


@pytest.mark.parametrize(("text", "cap"), [("3/day", 3), (" 5 / d ", 5), ("2 per day", 2), ("", None), ("none", None)])
def test_the_daily_cap_setting_is_read_from_the_environment(text: str, cap: int | None) -> None:
    assert WorkerSettings.read(KEYS | {"JOURNEY_FREQUENCY_CAP": text}).delivery.policy.daily_cap == cap
    assert SimulationSettings.read({"JOURNEY_FREQUENCY_CAP": text}).policy.daily_cap == cap


@pytest.mark.parametrize("text", ["3", "3/week", "0/day", "three/day"])
def test_a_malformed_daily_cap_is_refused_with_the_expected_form(text: str) -> None:
    with pytest.raises(ValueError, match=r"JOURNEY_FREQUENCY_CAP=.*'3/day'"):
        WorkerSettings.read(KEYS | {"JOURNEY_FREQUENCY_CAP": text})


@pytest.mark.parametrize(("text", "hours"), [("", 24), ("6h", 6), ("3d", 72), ("PT90M", 1.5)])
def test_the_send_retry_window_is_read_from_the_environment(text: str, hours: float) -> None:
    assert WorkerSettings.read(KEYS | {"JOURNEY_SEND_RETRY_WINDOW": text}).delivery.policy.retry_window == timedelta(hours=hours)


@pytest.mark.parametrize("text", ["24", "forever", "0h"])
def test_a_malformed_send_retry_window_is_refused_naming_the_variable(text: str) -> None:
    with pytest.raises(ValueError, match=r"^JOURNEY_SEND_RETRY_WINDOW: '.*' (is not a duration; write a duration like|is zero)"):
        WorkerSettings.read(KEYS | {"JOURNEY_SEND_RETRY_WINDOW": text})


def test_unsubscribe_configuration_comes_from_the_environment(caplog: pytest.LogCaptureFixture) -> None:
    config = SimulationSettings.read(
        {"JOURNEY_PUBLIC_URL": "https://j.example/", "JOURNEY_UNSUBSCRIBE_SECRET": "s3cret", "JOURNEY_UNSUBSCRIBE_MAILTO": "u@j.example"}
    ).unsubscribe
    assert (config.public_url, config.secret, config.mailto) == ("https://j.example", b"s3cret", "u@j.example")
    assert config.url("ann").startswith("https://j.example/v1/unsubscribe/")
    dev = SimulationSettings.read({}).unsubscribe
    assert dev == UnsubscribeConfig.development() and dev.public_url == "http://127.0.0.1:8080"
    assert dev.customer_of(dev.token("ann")) == "ann"
    assert not caplog.records


DEV_KEY_WARNING = "JOURNEY_UNSUBSCRIBE_SECRET is not set: unsubscribe links use a development key anyone can forge"


def test_only_journey_api_warns_of_the_development_unsubscribe_key(caplog: pytest.LogCaptureFixture) -> None:
    """A simulation, a test run, a sandbox worker and `journey dev` send nothing a customer could click (and a
    worker or dev stack with real email refuses to start without the secret); the API, which takes the links'
    clicks, is where a forged link would change a real customer's consent."""
    with caplog.at_level(logging.WARNING):
        SimulationSettings.read({})
        WorkerSettings.read(KEYS)
        DevSettings.read({})
    assert [r.getMessage() for r in caplog.records] == []
    with caplog.at_level(logging.WARNING):
        ApiServerSettings.read(KEYS | {"JOURNEY_API_KEYS": "k"})
    assert [r.getMessage() for r in caplog.records] == [DEV_KEY_WARNING]
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        ApiServerSettings.read(KEYS | {"JOURNEY_API_KEYS": "k", "JOURNEY_UNSUBSCRIBE_SECRET": "s3cret"})
    assert not caplog.records


def test_erasure_from_the_command_line_keys_its_hashes_as_the_worker_and_a_short_secret_is_refused() -> None:
    environment = KEYS | {"JOURNEY_HASH_SECRET": "s" * 32}
    assert WorkerSettings.read(environment).hash_secret == CustomerSettings.read(environment).hash_secret
    with pytest.raises(SettingsError, match=r"JOURNEY_HASH_SECRET: the secret is too short") as refused:
        ApiServerSettings.read(KEYS | {"JOURNEY_API_KEYS": "k", "JOURNEY_HASH_SECRET": "short"})
    assert "short" not in str(refused.value).split("JOURNEY_HASH_SECRET:", 1)[1].replace("too short", "")


def test_the_dev_stacks_unsubscribe_links_point_at_its_own_port() -> None:
    settings = DevSettings.read({}, api_url="http://127.0.0.1:9090")
    assert settings.delivery.unsubscribe.url("ann").startswith("http://127.0.0.1:9090/v1/unsubscribe/")
    assert settings.endpoints.unsubscribe.public_url == "http://127.0.0.1:9090"
    public = DevSettings.read({"JOURNEY_PUBLIC_URL": "https://j.example"}, api_url="http://127.0.0.1:9090")
    assert public.delivery.unsubscribe.public_url == "https://j.example"


def test_the_api_checks_provider_webhooks_with_the_keys_of_the_environment() -> None:
    endpoints = ApiServerSettings.read(
        KEYS
        | {
            "JOURNEY_API_KEYS": " k1, k2 ,,",
            "SENDGRID_WEBHOOK_PUBLIC_KEY": " MFkw== \n",
            "SENDGRID_WEBHOOK_MAX_AGE_SECONDS": "60",
            "TWILIO_AUTH_TOKEN": "t",
            "JOURNEY_PUBLIC_URL": "https://j.example/",
            "JOURNEY_UNSUBSCRIBE_SECRET": "s3cret",
        }
    ).endpoints
    assert (endpoints.sendgrid_webhook.public_key, endpoints.sendgrid_webhook.max_age_seconds) == ("MFkw==", 60)
    assert (endpoints.twilio_webhook.auth_token, endpoints.twilio_webhook.public_url) == ("t", "https://j.example")
    assert endpoints.unsubscribe.secret == b"s3cret"
    assert ApiServerSettings.read(KEYS | {"JOURNEY_API_KEYS": " k1, k2 ,,"}).api_keys == {"k1", "k2"}
    with pytest.raises(SettingsError, match="SENDGRID_WEBHOOK_MAX_AGE_SECONDS='5m': write a number of seconds"):
        ApiServerSettings.read(KEYS | {"JOURNEY_API_KEYS": "k", "SENDGRID_WEBHOOK_MAX_AGE_SECONDS": "5m"})


def test_only_journey_api_needs_api_keys() -> None:
    with pytest.raises(SettingsError, match="JOURNEY_API_KEYS is not set"):
        ApiServerSettings.read(KEYS | {})
    assert DevSettings.read({}).api_keys == frozenset()  # the local stack then takes calls without a key


def test_a_problem_never_shows_a_password_or_a_private_key() -> None:
    key = {"type": "authorized_user", "private_key": "-----BEGIN PRIVATE KEY-----MIIE"}
    with pytest.raises(SettingsError) as refused:
        WorkerSettings.read(KEYS | {"DATABASE_URL": "postgresql://u:hunter2@db:port/x", "FCM_CREDENTIALS_JSON": json.dumps(key)})
    assert refused.value.problems == (
        "DATABASE_URL is not a database URL: write postgresql://user:password@host/db or sqlite:///path",
        "FCM_CREDENTIALS_JSON: the FCM credentials must be a service-account JSON key with a project_id",
    )


# --- the store the settings name ----------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'given.db'}" if request.param == "sqlite" else str(request.getfixturevalue("postgres_url"))


def test_database_url_names_the_store(database_url: str, tmp_path: Path) -> None:
    unused = tmp_path / "unused"
    store = open_store(WorkerSettings.read(KEYS | {"DATABASE_URL": database_url}).database_url, unused)
    store.dispose()
    assert store.url == database_url
    assert not unused.exists()


def test_without_database_url_the_store_is_sqlite_in_the_default_folder(tmp_path: Path) -> None:
    folder = tmp_path / "state" / ".journey"
    store = open_store(DevSettings.read({}).database_url, folder)
    store.dispose()
    assert store.url == f"sqlite:///{folder / 'journey.db'}"


def test_a_database_the_store_does_not_support_is_a_bad_database_url() -> None:
    with pytest.raises(SettingsError, match=r"^DATABASE_URL must be sqlite:///PATH or postgresql://\.\.\., not mysql://$"):
        open_store(DeploySettings.read(KEYS | {"DATABASE_URL": "mysql://u:p@db/x"}).database_url)


# --- the command line ------------------------------------------------------------------------


def test_journey_worker_with_a_malformed_value_says_which_and_exits_2_before_starting() -> None:
    result = CliRunner().invoke(main, ["worker"], env=KEYS | {"JOURNEY_SEND_RETRY_WINDOW": "abc"})
    assert result.exit_code == 2, result.output
    assert "Error: JOURNEY_SEND_RETRY_WINDOW: 'abc' is not a duration; write a duration like" in result.output
    assert "Traceback" not in result.output


def test_journey_deploy_names_every_bad_value(tmp_path: Path) -> None:
    env = KEYS | {"TEMPORAL_SEARCH_ATTRIBUTES": "nope", "DATABASE_URL": "not a url"}
    result = CliRunner().invoke(main, ["deploy", str(tmp_path)], env=env)
    assert result.exit_code == 2, result.output
    assert result.output.splitlines()[:3] == [
        "Error: 2 environment variables cannot be used:",
        "  TEMPORAL_SEARCH_ATTRIBUTES='nope': write true or false",
        "  DATABASE_URL is not a database URL: write postgresql://user:password@host/db or sqlite:///path",
    ]


# --- the keys: encrypted payloads and keyed customer keys (docs/privacy.md) ---------------------


@pytest.mark.parametrize("read", [WorkerSettings.read, ApiServerSettings.read, DeploySettings.read])
def test_a_process_that_talks_to_temporal_refuses_to_start_without_payload_keys(read: Callable[[Mapping[str, str]], object]) -> None:
    with pytest.raises(SettingsError) as refused:
        read({"JOURNEY_API_KEYS": "k", "JOURNEY_HASH_SECRET": KEYS["JOURNEY_HASH_SECRET"]})
    (problem,) = refused.value.problems
    assert problem.startswith("JOURNEY_PAYLOAD_KEYS is not set: Temporal payloads (customer ids, event properties) would be stored")
    assert "k1:$(openssl rand -base64 32)" in problem and "none" in problem


@pytest.mark.parametrize("read", [WorkerSettings.read, ApiServerSettings.read])
def test_a_process_that_starts_enrollments_refuses_to_start_without_the_hash_secret(read: Callable[[Mapping[str, str]], object]) -> None:
    with pytest.raises(SettingsError) as refused:
        read({"JOURNEY_API_KEYS": "k", "JOURNEY_PAYLOAD_KEYS": KEYS["JOURNEY_PAYLOAD_KEYS"]})
    (problem,) = refused.value.problems
    assert problem.startswith("JOURNEY_HASH_SECRET is not set: set it to a long random string, the same on every worker and API")


def test_payload_keys_are_read_current_first_and_connect_every_client_with_them() -> None:
    ring = PayloadKeys((PayloadKey("2026-07", bytes(32)), *PAYLOAD_KEYS.keys))
    temporal = WorkerSettings.read(KEYS | {"JOURNEY_PAYLOAD_KEYS": ring.text()}).temporal
    assert temporal.payload_keys == ring and temporal.payload_keys.current.id == "2026-07"
    codec = temporal.data_converter().payload_codec
    assert isinstance(codec, EncryptionCodec) and codec.keys == ring
    api = ApiServerSettings.read(KEYS | {"JOURNEY_API_KEYS": "k", "JOURNEY_CODEC_CORS_ORIGINS": "https://temporal.shop.example/"})
    assert api.endpoints.payload_keys == api.temporal.payload_keys == PAYLOAD_KEYS  # the codec endpoint decodes what the API encodes
    assert api.endpoints.codec_origins == {"https://temporal.shop.example"}


def test_plain_payloads_are_a_choice_said_out_loud(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        temporal = DeploySettings.read(KEYS | {"JOURNEY_PAYLOAD_KEYS": "none"}).temporal
    assert temporal.payload_keys is None and temporal.data_converter().payload_codec is None
    assert [r.getMessage() for r in caplog.records] == [
        "JOURNEY_PAYLOAD_KEYS=none: Temporal payloads (customer ids, event properties) are stored in clear"
    ]


def test_a_bad_key_or_secret_is_named_without_quoting_it() -> None:
    environment = {
        "JOURNEY_PAYLOAD_KEYS": "k1:c2VjcmV0LWJ1dC1zaG9ydA==",
        "JOURNEY_HASH_SECRET": "tiny",
        "JOURNEY_API_KEYS": "k",
        "JOURNEY_CODEC_CORS_ORIGINS": "temporal.shop.example",
    }
    with pytest.raises(SettingsError) as refused:
        ApiServerSettings.read(environment)
    assert refused.value.problems == (
        "JOURNEY_PAYLOAD_KEYS: key 'k1' is 16 bytes: an AES-256 key is 32 random bytes",
        "JOURNEY_CODEC_CORS_ORIGINS='temporal.shop.example': write origins as scheme://host[:port], comma-separated,"
        " e.g. https://temporal.shop.example",
        "JOURNEY_HASH_SECRET: the secret is too short: use at least 16 random bytes, e.g. $(openssl rand -hex 32)",
    )


def test_journey_worker_without_its_keys_names_both_and_exits_2() -> None:
    result = CliRunner().invoke(main, ["worker"], env={"JOURNEY_PAYLOAD_KEYS": "", "JOURNEY_HASH_SECRET": ""})
    assert result.exit_code == 2, result.output
    assert result.output.splitlines()[0] == "Error: 2 environment variables cannot be used:"
    assert [line.split(" ")[2] for line in result.output.splitlines()[1:3]] == ["JOURNEY_PAYLOAD_KEYS", "JOURNEY_HASH_SECRET"]


def test_a_worker_that_sends_to_real_customers_needs_the_public_url_of_its_links() -> None:
    sendgrid = {"SENDGRID_API_KEY": "SG.x", "SENDGRID_FROM": "shop@example.com", "JOURNEY_UNSUBSCRIBE_SECRET": "s" * 32}
    with pytest.raises(SettingsError, match=r"SENDGRID_API_KEY set, so messages reach real customers .* set JOURNEY_PUBLIC_URL"):
        WorkerSettings.read(KEYS | sendgrid)
    assert WorkerSettings.read(KEYS | sendgrid | {"JOURNEY_PUBLIC_URL": "https://j.example"}).providers.email is not None
    assert WorkerSettings.read(KEYS).providers.email is None  # the sandbox sends nothing out: no address needed
    assert DevSettings.read(sendgrid).providers.email is not None  # journey dev points the links at its own API


def test_pool_size_call_timeout_and_shutdown_grace_are_settings() -> None:
    api = ApiServerSettings.read(KEYS | {"JOURNEY_API_KEYS": "k", "DATABASE_POOL_SIZE": "4", "DATABASE_POOL_OVERFLOW": "2",
                                         "TEMPORAL_CALL_TIMEOUT": "3"})  # fmt: skip
    assert (api.pool.kept, api.pool.overflow, api.pool.most, api.call_timeout) == (4, 2, 6, timedelta(seconds=3))
    worker = WorkerSettings.read(KEYS | {"JOURNEY_SHUTDOWN_GRACE": "2m"})
    assert (worker.shutdown_grace, worker.pool.most) == (timedelta(minutes=2), 30)
    with pytest.raises(SettingsError) as refused:
        ApiServerSettings.read(KEYS | {"JOURNEY_API_KEYS": "k", "DATABASE_POOL_SIZE": "ten", "TEMPORAL_CALL_TIMEOUT": "90"})
    assert refused.value.problems == (
        "DATABASE_POOL_SIZE='ten': write a whole number, e.g. 10",
        "TEMPORAL_CALL_TIMEOUT=90: write 1 to 30 seconds (a customer's lease lasts 60 s, for several calls)",
    )


def test_the_pool_size_reaches_postgresqls_engine(postgres_url: str) -> None:
    store = open_store(postgres_url, pool=PoolSize(3, 1))
    try:
        assert (store.engine.pool.size(), store.engine.pool._max_overflow) == (3, 1)  # type: ignore[attr-defined]
    finally:
        store.dispose()
