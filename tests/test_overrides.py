"""Override variables: every hostile value refused with one clear line naming the variable,
every legitimate shape accepted, misspellings warned about, the settings file parsed.

The hostile table is the regression suite of the hostile-input review: each
value must be refused (``ConfigError`` naming the variable the user set, one
line, the value shown escaped and capped) or accepted, as listed.
"""

from __future__ import annotations

import pytest

from stacks.config import OVERRIDE_VARIABLES, REGIONS, ConfigError, build_app_config, decode_settings, edit_settings, misspelt, parse_settings
from stacks.config.validate import ECHO_LIMIT

LONG = "x" * 10_000
BIDI = "order\u202eapi"
MRK = "mrk-" + "0123456789abcdef" * 2
KEY_UUID = "1234abcd-12ab-34cd-56ef-1234567890ab"
PROD_CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0123abcd-0123-4567-89ab-0123456789ab"

#: (variable, value, refused?)  Each refused value must be named after the variable.
HOSTILE: list[tuple[str, str, bool]] = [
    # <ENV>_DOMAIN_NAME, _HOSTED_ZONE, _CERTIFICATE_ARN
    ("STAGING_DOMAIN_NAME", "API.Acme.com", True),
    ("STAGING_DOMAIN_NAME", "api.acme.com/x", True),
    ("STAGING_DOMAIN_NAME", "abcdefghi." * 26 + "staging.orders.example.com", True),  # 286 characters: DNS allows 253
    ("STAGING_DOMAIN_NAME", "a" * 37 + ".staging.orders.example.com", False),  # 64: ACM's limit for a created certificate
    ("STAGING_DOMAIN_NAME", "a" * 38 + ".staging.orders.example.com", True),  # 65
    ("STAGING_DOMAIN_NAME", "orders-api.staging.orders.example.com.", False),  # fully qualified: the root's dot is dropped
    ("PROD_DOMAIN_NAME", "xn--80ak6aa92e.orders.example.com", False),  # punycode label
    ("PROD_HOSTED_ZONE", "other.com", True),
    ("PROD_HOSTED_ZONE", "pi.acme-orders.com", True),  # a suffix of the domain, not a parent zone
    ("PROD_HOSTED_ZONE", "api.acme-orders.com", False),  # the apex of its own zone
    ("PROD_HOSTED_ZONE", "acme-orders.com", False),
    ("DEV_HOSTED_ZONE", "dev.acme-orders.com", True),  # a zone without DEV_DOMAIN_NAME would be ignored
    ("PROD_CERTIFICATE_ARN", "arn:aws:acm:eu-west-1:123456789012:certificate/0123abcd-0123-4567-89ab-0123456789ab", True),
    ("PROD_CERTIFICATE_ARN", "arn:aws:acm:us-east-1:123456789012:certificate/0123abcd-0123-4567-89ab-0123456789ab", False),
    # ENVIRONMENT_SUFFIX
    ("ENVIRONMENT_SUFFIX", "PR42", True),
    ("ENVIRONMENT_SUFFIX", "pr_42", True),
    ("ENVIRONMENT_SUFFIX", "-pr42", True),
    ("ENVIRONMENT_SUFFIX", "pr--42", True),
    ("ENVIRONMENT_SUFFIX", "a" * 13, True),
    ("ENVIRONMENT_SUFFIX", "pr 42", True),
    ("ENVIRONMENT_SUFFIX", "$(id)", True),
    ("ENVIRONMENT_SUFFIX", "pr42\n", False),  # trimmed
    ("ENVIRONMENT_SUFFIX", "a" * 12, False),
    ("ENVIRONMENT_SUFFIX", LONG, True),
    # ENVIRONMENTS
    ("ENVIRONMENTS", "dev,qa", True),
    ("ENVIRONMENTS", "dev,dev", True),
    ("ENVIRONMENTS", "DEV", True),
    ("ENVIRONMENTS", "dev, staging", False),
    # AWS_REGION
    ("AWS_REGION", "zz-nowhere-9", True),
    ("AWS_REGION", "us-east", True),
    ("AWS_REGION", "US-EAST-1", True),
    ("AWS_REGION", "us-east-1; rm -rf /", True),
    ("AWS_REGION", "narnia", True),
    ("AWS_REGION", LONG, True),
    ("AWS_REGION", " eu-west-2 ", False),
    ("AWS_REGION", "me-central-1", False),
    ("AWS_REGION", "ca-west-1", False),
    ("AWS_REGION", "ap-southeast-4", False),
    ("AWS_REGION", "il-central-1", False),
    ("AWS_REGION", "eu-north-1", False),
    # AVAILABILITY_ZONE_LETTERS (us-east-1 unless the region is set too: see below)
    ("AVAILABILITY_ZONE_LETTERS", "x,y,z", True),
    ("AVAILABILITY_ZONE_LETTERS", "a,b", False),  # two zones (us-west-1 gives most accounts two)
    ("AVAILABILITY_ZONE_LETTERS", "a", True),
    ("AVAILABILITY_ZONE_LETTERS", "a,b,c,d", True),
    ("AVAILABILITY_ZONE_LETTERS", "a,a,b", True),
    ("AVAILABILITY_ZONE_LETTERS", "a,b,cc", True),
    ("AVAILABILITY_ZONE_LETTERS", "A,B,C", True),
    ("AVAILABILITY_ZONE_LETTERS", "d, e ,f", False),
    # VPC_CIDR (with a suffix)
    ("VPC_CIDR", "10.0.0.0/8", True),
    ("VPC_CIDR", "10.100.0.0/20", True),
    ("VPC_CIDR", "not-a-cidr", True),
    ("VPC_CIDR", "10.100.0.1/16", True),
    ("VPC_CIDR", "8.8.0.0/16", True),
    ("VPC_CIDR", "10.30.0.0/16", True),
    ("VPC_CIDR", "10.100.0.0/19", False),
    ("VPC_CIDR", "192.168.0.0/16", False),
    ("VPC_CIDR", "172.16.0.0/16", False),
    ("VPC_CIDR", "172.31.224.0/19", False),
    ("VPC_CIDR", "10.255.224.0/19", False),
    ("VPC_CIDR", "10.100.0.0/255.255.0.0", True),  # netmask
    ("VPC_CIDR", "10.100.0.0/0.0.255.255", True),  # hostmask
    ("VPC_CIDR", "10.100.0.0/016", True),
    ("VPC_CIDR", "010.100.0.0/16", True),
    ("VPC_CIDR", "10.100.0.0", True),
    ("VPC_CIDR", "10.100.0.0/16/16", True),
    ("VPC_CIDR", "10.100.0.0 /16", True),
    ("VPC_CIDR", "0x0a.100.0.0/16", True),
    ("VPC_CIDR", "127.0.0.0/16", True),  # loopback
    ("VPC_CIDR", "169.254.0.0/16", True),  # link-local
    ("VPC_CIDR", "0.0.0.0/16", True),
    ("VPC_CIDR", "224.0.0.0/16", True),  # multicast
    ("VPC_CIDR", "240.0.0.0/16", True),  # class E
    ("VPC_CIDR", "255.255.0.0/16", True),
    ("VPC_CIDR", "100.64.0.0/16", True),  # shared address space (RFC 6598)
    ("VPC_CIDR", "198.18.0.0/16", True),  # benchmarking
    ("VPC_CIDR", "172.17.0.0/16", True),  # AWS: used by some services
    ("VPC_CIDR", "172.16.0.0/12", True),
    ("VPC_CIDR", "192.168.0.0/28", True),  # AWS allows it; an ALB does not fit
    # IMAGE_TAG
    ("IMAGE_TAG", "latest", True),
    ("IMAGE_TAG", "bad tag", True),
    ("IMAGE_TAG", ".hidden", True),
    ("IMAGE_TAG", "sha256:" + "a" * 63, True),
    ("IMAGE_TAG", "sha256:" + "A" * 64, True),
    ("IMAGE_TAG", "x" * 129, True),
    ("IMAGE_TAG", "1.2.3", False),
    ("IMAGE_TAG", "sha256:" + "0123456789abcdef" * 4, False),
    # AWS_ENDPOINT_URL (prod is synthesized by default, so even a good URL needs ENVIRONMENTS)
    ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000", True),
    ("AWS_ENDPOINT_URL", "ftp://127.0.0.1", True),
    ("AWS_ENDPOINT_URL", "127.0.0.1:5000", True),
    # ALARM_* (apply to every environment)
    ("ALARM_EMAILS", "not-an-address", True),
    ("ALARM_EMAILS", "a@example.com,a@example.com", True),
    ("ALARM_EMAILS", "oncall@example.com, orders@example.com", False),
    ("ALARM_HTTPS_ENDPOINTS", "http://hooks.example.com/a", True),
    ("ALARM_HTTPS_ENDPOINTS", "https://hooks.example.com/a b", True),
    ("ALARM_HTTPS_ENDPOINTS", "https://events.pagerduty.com/integration/abc/enqueue", False),
    ("ALARM_HTTPS_ENDPOINTS", "https://hooks.example.com/a{b}", True),
    ("ALARM_HTTPS_ENDPOINTS", "https://hooks.example.com/caf\u00e9", True),
    ("ALARM_HTTPS_ENDPOINTS", "https://user:secret@hooks.example.com/a", True),
    ("ALARM_HTTPS_ENDPOINTS", "https://hooks.example.com:0/a", True),
    ("ALARM_HTTPS_ENDPOINTS", "https://hooks.example.com:65536/a", True),
    ("ALARM_HTTPS_ENDPOINTS", "https://-hooks.example.com/a", True),
    ("ALARM_HTTPS_ENDPOINTS", "https://hooks..example.com/a", True),
    ("ALARM_HTTPS_ENDPOINTS", "https://hooks.example.com/a%zz", True),
    ("ALARM_HTTPS_ENDPOINTS", "https://hooks.example.com:8443/caf%C3%A9/a;b=c?x=1&y=%2C#frag", False),
    ("ALARM_EMAILS", ",".join(f"oncall{i}@example.com" for i in range(25)), False),
    ("ALARM_EMAILS", "o'neil@example.com", False),
    ("ALARM_EMAILS", "ops+alerts/team=a@example.xn--p1ai", False),
    ("ALARM_EMAILS", ".oncall@example.com", True),
    ("ALARM_EMAILS", "on..call@example.com", True),
    ("ALARM_EMAILS", "oncall@-example.com", True),
    ("ALARM_EMAILS", "oncall@example.c0m", True),
    ("ALARM_EMAILS", "a{b}@example.com", True),
    ("ALARM_EMAILS", "x" * 65 + "@example.com", True),
    ("ALARM_TOPIC_ARN", "arn:aws:sns:us-east-1:123:paging", True),
    ("ALARM_TOPIC_ARN", "paging", True),
    ("ALARM_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:paging", False),
    ("ALARM_TOPIC_ARN", "arn:aws:sns:eu-west-1:123456789012:paging", True),  # not AWS_REGION
    ("ALARM_TOPIC_ARN", "arn:aws-us-gov:sns:us-gov-west-1:123456789012:paging", True),
    ("ALARM_TOPIC_ARN", "arn:aws-cn:sns:us-east-1:123456789012:paging", True),
    # STATE_BACKEND and the bucket
    ("STATE_BACKEND", "gcs", True),
    ("STATE_BACKEND", "S3", True),
    ("STATE_BACKEND", "cloud", True),  # no organization
    ("TF_STATE_BUCKET", "My_Bucket", True),
    ("TF_STATE_BUCKET", "ab", True),
    ("TF_STATE_BUCKET", "192.168.1.1", True),
    ("TF_STATE_BUCKET", "bucket..name", True),
    ("TF_STATE_BUCKET", "xn--bucket", True),
    ("TF_STATE_BUCKET", "state-s3alias", True),
    ("TF_STATE_BUCKET", LONG, True),
    ("TF_STATE_BUCKET", "acme-order-api-state", False),
    ("TF_STATE_REGION", "moon-1", True),
    ("TF_STATE_REGION", "eu-central-1", False),
    ("TF_STATE_REGION", "us-gov-west-1", True),  # another partition than AWS_REGION
    ("TF_STATE_REGION", "cn-north-1", True),
    # TF_STATE_KMS_KEY_ID: exactly the real shapes
    ("TF_STATE_KMS_KEY_ID", "-" * 36, True),
    ("TF_STATE_KMS_KEY_ID", "alias/" + "a" * 10_000, True),
    ("TF_STATE_KMS_KEY_ID", "alias/", True),
    ("TF_STATE_KMS_KEY_ID", "my key", True),
    ("TF_STATE_KMS_KEY_ID", "mrk-123", True),
    ("TF_STATE_KMS_KEY_ID", "arn:aws:kms:us-east-1:123456789012:key/not-a-key", True),
    ("TF_STATE_KMS_KEY_ID", KEY_UUID, False),
    ("TF_STATE_KMS_KEY_ID", MRK, False),
    ("TF_STATE_KMS_KEY_ID", "alias/" + "a" * 250, False),
    ("TF_STATE_KMS_KEY_ID", "alias/terraform/state_key-1", False),
    ("TF_STATE_KMS_KEY_ID", f"arn:aws:kms:us-east-1:123456789012:key/{KEY_UUID}", False),
    ("TF_STATE_KMS_KEY_ID", f"arn:aws:kms:us-east-1:123456789012:key/{MRK}", False),
    ("TF_STATE_KMS_KEY_ID", "arn:aws:kms:us-east-1:123456789012:alias/state", False),
    # the key must be in the state bucket's region (us-east-1 here) and partition
    ("TF_STATE_KMS_KEY_ID", f"arn:aws:kms:eu-west-1:123456789012:key/{KEY_UUID}", True),
    ("TF_STATE_KMS_KEY_ID", "arn:aws-us-gov:kms:us-gov-west-1:123456789012:alias/state", True),
    ("TF_STATE_KMS_KEY_ID", "arn:aws-cn:kms:us-east-1:123456789012:alias/state", True),
    ("TF_STATE_BOOTSTRAP_BACKEND", "cloud", True),
    ("TF_STATE_BOOTSTRAP_BACKEND", "s3", False),
    # Terraform Cloud (with STATE_BACKEND=cloud and an organization: see below)
    ("TF_CLOUD_PROJECT", "$(id)", True),
    ("TF_CLOUD_PROJECT", "orders\nproject", True),
    ("TF_CLOUD_PROJECT", BIDI, True),
    ("TF_CLOUD_PROJECT", "orders  api", True),
    ("TF_CLOUD_PROJECT", "x" * 41, True),
    ("TF_CLOUD_PROJECT", "Order API", False),
    ("TF_CLOUD_ORGANIZATION", "acme corp", True),
    ("TF_CLOUD_ORGANIZATION", "acme;id", True),
    ("TF_CLOUD_ORGANIZATION", BIDI, True),
    ("TF_CLOUD_ORGANIZATION", "acme_corp-1", False),
    ("TF_CLOUD_HOSTNAME", "https://app.terraform.io", True),
    ("TF_CLOUD_HOSTNAME", "tfe.example.com/x", True),
    ("TF_CLOUD_HOSTNAME", "tfe.example.com", False),
    ("TF_CLOUD_HOSTNAME", "TFE.Example.COM", False),
    ("TF_CLOUD_HOSTNAME", "tfe.example.com:8443", False),
    ("TF_CLOUD_HOSTNAME", "tfe:8443", False),
    ("TF_CLOUD_HOSTNAME", "tfe.example.com:0", True),
    ("TF_CLOUD_HOSTNAME", "tfe.example.com:65536", True),
    ("TF_CLOUD_HOSTNAME", "tfe.example.com:", True),
    ("TF_CLOUD_HOSTNAME", ":8443", True),
    ("TF_CLOUD_HOSTNAME", "tfe_example.com", True),
    ("TF_CLOUD_HOSTNAME", "tfe..example.com", True),
    ("TF_CLOUD_HOSTNAME", "t\u00e9fe.example.com", True),
    ("TF_CLOUD_HOSTNAME", ("a" * 63 + ".") * 4 + "com", True),
    ("TF_WORKSPACE_PREFIX", "bad prefix", True),
    ("TF_WORKSPACE_PREFIX", "$(id)", True),
    ("TF_WORKSPACE_PREFIX", "aws-", False),
]
#: The ticket channel's variables take exactly what the paging channel's take.
HOSTILE += [(variable.replace("ALARM_", "TICKET_", 1), value, refused) for variable, value, refused in HOSTILE if variable.startswith("ALARM_")]

#: Values that only make sense together with others.
CONTEXT = {
    "VPC_CIDR": {"ENVIRONMENT_SUFFIX": "pr1"},
    "PROD_HOSTED_ZONE": {"PROD_DOMAIN_NAME": "api.acme-orders.com"},
    "TF_CLOUD_PROJECT": {"STATE_BACKEND": "cloud", "TF_CLOUD_ORGANIZATION": "acme"},
    "TF_CLOUD_ORGANIZATION": {"STATE_BACKEND": "cloud"},
    "TF_CLOUD_HOSTNAME": {"STATE_BACKEND": "cloud", "TF_CLOUD_ORGANIZATION": "acme"},
    "TF_WORKSPACE_PREFIX": {"STATE_BACKEND": "cloud", "TF_CLOUD_ORGANIZATION": "acme"},
}
BLAMED = {("STATE_BACKEND", "cloud"): "TF_CLOUD_ORGANIZATION"}


@pytest.mark.parametrize(("variable", "value", "refused"), HOSTILE, ids=[f"{v}-{i}" for i, (v, _, _) in enumerate(HOSTILE)])
def test_hostile_input(variable: str, value: str, refused: bool) -> None:
    overrides = {**CONTEXT.get(variable, {}), variable: value}
    if not refused:
        config = build_app_config(overrides)
        assert config.environments
        return
    with pytest.raises(ConfigError) as excinfo:
        build_app_config(overrides)
    blamed = BLAMED.get((variable, value), variable)
    message = str(excinfo.value)
    assert excinfo.value.field_name == blamed
    assert message.startswith(blamed)
    assert "\n" not in message and "\u202e" not in message
    assert "None" not in message
    # The value is echoed escaped and capped: a 10,000-character value is not.
    assert len(message) < ECHO_LIMIT + len(blamed) + len(excinfo.value.allowed) + 20


def test_fails_echo_is_capped_with_an_ellipsis() -> None:
    with pytest.raises(ConfigError) as excinfo:
        build_app_config({"TF_STATE_BUCKET": LONG})
    message = str(excinfo.value)
    assert "x" * ECHO_LIMIT not in message
    assert "…" in message


def test_fails_missing_organization_says_not_set_never_none() -> None:
    with pytest.raises(ConfigError) as excinfo:
        build_app_config({"STATE_BACKEND": "cloud"})
    assert str(excinfo.value) == "TF_CLOUD_ORGANIZATION is not set: required when STATE_BACKEND=cloud"


def test_fails_bad_vpc_cidr_names_the_variable_not_the_field() -> None:
    with pytest.raises(ConfigError) as excinfo:
        build_app_config({"ENVIRONMENT_SUFFIX": "pr1", "VPC_CIDR": "10.100.0.0/20"})
    assert str(excinfo.value).startswith("VPC_CIDR='10.100.0.0/20' is invalid: a prefix from /16 to /19")
    assert "network." not in str(excinfo.value)


@pytest.mark.parametrize(("region", "letters"), [("us-east-1", "x,y,z"), ("eu-west-2", "a,b,d"), ("ca-central-1", "a,b,c"), ("ap-northeast-1", "a,b,c")])
def test_fails_zone_letters_that_do_not_exist_in_the_region(region: str, letters: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        build_app_config({"AWS_REGION": region, "AVAILABILITY_ZONE_LETTERS": letters})
    assert excinfo.value.field_name == "AVAILABILITY_ZONE_LETTERS"
    assert f"zones that exist in {region}" in excinfo.value.allowed


def test_zone_letters_where_the_table_does_not_know_the_region_are_only_syntax_checked() -> None:
    assert REGIONS["me-central-1"].az_letters is None
    config = build_app_config({"AWS_REGION": "me-central-1", "AVAILABILITY_ZONE_LETTERS": "a,b,c"})
    assert config.environments[0].network.availability_zones("me-central-1") == ("me-central-1a", "me-central-1b", "me-central-1c")


def test_fails_emulator_endpoint_with_prod_and_with_terraform_cloud() -> None:
    with pytest.raises(ConfigError, match="refused for prod"):
        build_app_config({"AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "ENVIRONMENTS": "dev,prod"})
    with pytest.raises(ConfigError, match="not with STATE_BACKEND=cloud"):
        build_app_config({"AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "ENVIRONMENTS": "dev", "STATE_BACKEND": "cloud", "TF_CLOUD_ORGANIZATION": "a"})


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:5000", "http://localhost:4566/", "https://emulator.internal:8443", "http://moto", "http://[::1]:4566", "https://[2001:db8::1]/"]
)
def test_emulator_endpoint_without_prod_is_accepted(url: str) -> None:
    config = build_app_config({"AWS_ENDPOINT_URL": url, "ENVIRONMENTS": "dev,staging"})
    assert config.endpoint_url == url
    assert [e.name for e in config.environments] == ["dev", "staging"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:0",
        "http://127.0.0.1:70000",
        "http://user:pw@host",
        "http://host/path",
        "http://-host",
        "file:///tmp",
        "http://[::1",
        "http://[:::1]:4566",
        "http://[::1]:0",
        "http://[fe80::1%eth0]:4566",
        "http://::1:4566",
        "http://[127.0.0.1]:5000",
        "http://a..b:5000",
        "http://" + "a" * 254,
    ],
)
def test_fails_emulator_endpoint_of_a_bad_shape(url: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        build_app_config({"AWS_ENDPOINT_URL": url, "ENVIRONMENTS": "dev"})
    assert excinfo.value.field_name == "AWS_ENDPOINT_URL"


def test_environments_selects_stacks_and_a_suffix_still_copies_dev() -> None:
    config = build_app_config({"ENVIRONMENTS": "staging", "ENVIRONMENT_SUFFIX": "pr1"})
    assert [e.stack_name for e in config.environments] == ["order-api-staging", "order-api-dev-pr1"]


def test_whitespace_around_values_is_trimmed_and_empty_means_unset() -> None:
    config = build_app_config({"AWS_REGION": "  eu-west-1\t", "IMAGE_TAG": "   ", "ENVIRONMENT_SUFFIX": ""})
    assert config.region == "eu-west-1"
    assert [e.service.image_tag for e in config.environments] == ["latest", "1.0.0", "1.0.0"]
    assert len(config.environments) == 3


PAGE_WARNING = (
    "order-api-prod: alarms reach nobody; set ALARM_EMAILS, ALARM_HTTPS_ENDPOINTS or ALARM_TOPIC_ARN (make deploy refuses order-api-prod without one)"
)
TICKET_WARNING = (
    "order-api-prod: the cause alarms (errors, hosts, CPU, database) reach nobody, only the dashboard; "
    "set TICKET_EMAILS, TICKET_HTTPS_ENDPOINTS or TICKET_TOPIC_ARN"
)


def test_alarm_destinations_reach_every_environment_and_silence_the_warning() -> None:
    quiet = build_app_config({"ALARM_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:paging", "TICKET_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:tickets"})
    assert {e.monitoring.alarm_topic_arn for e in quiet.environments} == {"arn:aws:sns:us-east-1:123456789012:paging"}
    assert {e.monitoring.ticket_topic_arn for e in quiet.environments} == {"arn:aws:sns:us-east-1:123456789012:tickets"}
    assert quiet.warnings == []
    assert build_app_config({}).warnings == [PAGE_WARNING, TICKET_WARNING]
    emails = build_app_config({"ALARM_EMAILS": "a@example.com,b@example.com"})
    assert emails.environments[2].monitoring.alarm_emails == ("a@example.com", "b@example.com")
    assert emails.environments[2].monitoring.ticket_emails == ()
    assert emails.warnings == [TICKET_WARNING]


def test_each_channels_variables_reach_only_that_channel() -> None:
    config = build_app_config(
        {
            "TICKET_EMAILS": "orders@example.com",
            "TICKET_HTTPS_ENDPOINTS": "https://tickets.example.com/a",
            "ALARM_HTTPS_ENDPOINTS": "https://page.example.com/b",
        }
    )
    for env in config.environments:
        m = env.monitoring
        assert (m.ticket_emails, m.ticket_https_endpoints, m.ticket_topic_arn) == (("orders@example.com",), ("https://tickets.example.com/a",), None)
        assert (m.alarm_emails, m.alarm_https_endpoints, m.alarm_topic_arn) == ((), ("https://page.example.com/b",), None)
    assert config.warnings == []


def test_fails_a_ticket_topic_outside_the_stacks_region() -> None:
    with pytest.raises(ConfigError) as excinfo:
        build_app_config({"TICKET_TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:tickets"})
    assert str(excinfo.value) == (
        "TICKET_TOPIC_ARN='arn:aws:sns:eu-west-1:123456789012:tickets' is invalid: a topic in AWS_REGION=us-east-1 of the aws partition "
        "(CloudWatch alarms notify topics of their own region)"
    )


def test_fails_unknown_override_names() -> None:
    with pytest.raises(ConfigError) as excinfo:
        build_app_config({"UNKNOWN_SETTING": "x"})
    assert excinfo.value.field_name == "overrides"


# -------------------------------------------------------------- misspellings


@pytest.mark.parametrize(
    ("name", "meant"),
    [
        ("ENVIRONMENT_SUFIX", "ENVIRONMENT_SUFFIX"),
        ("aws_region", "AWS_REGION"),
        ("Aws_Region", "AWS_REGION"),
        ("TF_STATE_BUKET", "TF_STATE_BUCKET"),
        ("IMAGETAG", "IMAGE_TAG"),
        ("ALARM_EMAIL", "ALARM_EMAILS"),
    ],
)
def test_misspelt_variable_gets_a_warning_naming_the_right_one(name: str, meant: str) -> None:
    assert misspelt([name, "PATH", "HOME"]) == [f"warning: {name} is not read; did you mean {meant}?"]


@pytest.mark.parametrize(
    "name", [*OVERRIDE_VARIABLES, "AWS_ENDPOINT_URL_S3", "AWS_DEFAULT_REGION", "TF_WORKSPACE", "PATH", "TF_LOG", "AWS_PROFILE", "CDKTF_OUTDIR"]
)
def test_no_warning_for_known_or_unrelated_variables(name: str) -> None:
    assert misspelt([name]) == []


# -------------------------------------------------------------- settings file


def test_editing_settings_changes_only_the_lines_of_the_keys_set() -> None:
    text = "# where the state lives\nAWS_REGION=us-east-1\n\n# alarms\nALARM_EMAILS=a@example.com\nTF_STATE_BUCKET = old-bucket  \n"
    edited = edit_settings(text, {"TF_STATE_BUCKET": "new-bucket", "TF_STATE_REGION": "eu-west-1"})
    assert edited == (
        "# where the state lives\nAWS_REGION=us-east-1\n\n# alarms\nALARM_EMAILS=a@example.com\nTF_STATE_BUCKET=new-bucket\nTF_STATE_REGION=eu-west-1\n"
    )
    assert parse_settings(edited) == {
        "AWS_REGION": "us-east-1",
        "ALARM_EMAILS": "a@example.com",
        "TF_STATE_BUCKET": "new-bucket",
        "TF_STATE_REGION": "eu-west-1",
    }


def test_editing_settings_keeps_crlf_and_ends_an_unterminated_last_line() -> None:
    assert edit_settings("# x\r\nAWS_REGION=us-east-1\r\n", {"AWS_REGION": "eu-west-1"}) == "# x\r\nAWS_REGION=eu-west-1\r\n"
    assert edit_settings("AWS_REGION=us-east-1", {"TF_STATE_BUCKET": "b-1"}) == "AWS_REGION=us-east-1\nTF_STATE_BUCKET=b-1\n"
    assert edit_settings("", {"AWS_REGION": "eu-west-1"}) == "AWS_REGION=eu-west-1\n"
    assert edit_settings("# AWS_REGION=us-east-1\n", {"AWS_REGION": "eu-west-1"}) == "# AWS_REGION=us-east-1\nAWS_REGION=eu-west-1\n"
    assert edit_settings("AWS_REGION=us-east-1  # Virginia\n", {"AWS_REGION": "eu-west-1"}) == "AWS_REGION=eu-west-1  # Virginia\n"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("AWS_REGION eu-west-1\n", "NAME=value lines"),
        ("AWS_REGON=eu-west-1\n", "one of"),
        ("AWS_REGION=eu-west-1\nAWS_REGION=eu-west-2\n", "at most once"),
        ("export AWS_REGION=eu-west-1\n", "NAME=value lines"),
    ],
)
def test_fails_bad_settings_lines(text: str, problem: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        parse_settings(text, "settings.env")
    assert excinfo.value.field_name.startswith("settings.env line ")
    assert problem in excinfo.value.allowed


def test_settings_values_may_be_quoted_once_and_are_never_expanded() -> None:
    text = 'AWS_REGION="eu-west-1"\nTF_CLOUD_PROJECT=\'Order API\'\nIMAGE_TAG="1.2.3\nTF_STATE_BUCKET=$HOME\n'
    assert parse_settings(text) == {"AWS_REGION": "eu-west-1", "TF_CLOUD_PROJECT": "Order API", "IMAGE_TAG": '"1.2.3', "TF_STATE_BUCKET": "$HOME"}


def test_a_comment_after_a_value_is_ignored_but_a_hash_inside_one_is_kept() -> None:
    text = "AWS_REGION=eu-west-1   # Ireland\nTF_CLOUD_PROJECT='Order API' # quoted\nALARM_HTTPS_ENDPOINTS=https://h.example.com/a#frag\n"
    assert parse_settings(text) == {"AWS_REGION": "eu-west-1", "TF_CLOUD_PROJECT": "Order API", "ALARM_HTTPS_ENDPOINTS": "https://h.example.com/a#frag"}


def test_settings_comments_blank_lines_and_spaces() -> None:
    assert parse_settings("# a comment\n\n  AWS_REGION = eu-west-1  \nIMAGE_TAG=\n") == {"AWS_REGION": "eu-west-1", "IMAGE_TAG": ""}


def test_a_byte_order_mark_and_crlf_line_ends_are_harmless() -> None:
    data = "\ufeff# state\r\nAWS_REGION=eu-west-1\r\nTF_STATE_BUCKET=acme-state\r\n\r\n".encode()
    assert parse_settings(decode_settings(data)) == {"AWS_REGION": "eu-west-1", "TF_STATE_BUCKET": "acme-state"}
    with pytest.raises(ConfigError) as excinfo:  # a second mark is not a byte order mark but text
        parse_settings(decode_settings("\ufeff\ufeffAWS_REGION=eu-west-1\r\n".encode()))
    assert excinfo.value.field_name == "settings.env line 1" and "NAME=value lines" in excinfo.value.allowed


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b"# caf\xe9 (Latin-1)\nAWS_REGION=eu-west-1\n", 1),
        (b"AWS_REGION=eu-west-1\r\nTF_STATE_BUCKET=acme\r\n# \x80\r\n", 3),
        ("AWS_REGION=eu-west-1\n".encode("utf-16"), 1),
    ],
)
def test_fails_a_settings_file_in_another_encoding_naming_the_file_and_line(data: bytes, line: int) -> None:
    with pytest.raises(ConfigError) as excinfo:
        decode_settings(data, "settings.env")
    assert excinfo.value.field_name == f"settings.env line {line}"
    assert str(excinfo.value).endswith("UTF-8 text (this line is in another encoding: save the file as UTF-8)")
    assert "\n" not in str(excinfo.value) and "\r" not in str(excinfo.value)


# -------------------------------------------------------------- fields that must agree


def test_fails_a_state_region_in_another_partition() -> None:
    with pytest.raises(ConfigError) as excinfo:
        build_app_config({"AWS_REGION": "us-gov-west-1", "TF_STATE_REGION": "us-east-1"})
    assert str(excinfo.value) == (
        "TF_STATE_REGION='us-east-1' is invalid: a region of the aws-us-gov partition, like AWS_REGION=us-gov-west-1 "
        "(one set of credentials reaches the state and the stacks)"
    )
    assert build_app_config({"AWS_REGION": "us-gov-west-1", "TF_STATE_REGION": "us-gov-east-1"}).state_region == "us-gov-east-1"


def test_fails_a_state_key_outside_the_state_bucket_region() -> None:
    key = "arn:aws:kms:eu-west-1:123456789012:alias/state"
    with pytest.raises(ConfigError) as excinfo:
        build_app_config({"AWS_REGION": "eu-west-1", "TF_STATE_REGION": "eu-central-1", "TF_STATE_KMS_KEY_ID": key})
    assert excinfo.value.field_name == "TF_STATE_KMS_KEY_ID"
    assert "a key in TF_STATE_REGION=eu-central-1 of the aws partition" in excinfo.value.allowed
    assert build_app_config({"AWS_REGION": "eu-central-1", "TF_STATE_REGION": "eu-west-1", "TF_STATE_KMS_KEY_ID": key}).state.kms_key_id == key
    # a key id or alias name is resolved in the bucket's region: nothing to compare
    assert build_app_config({"AWS_REGION": "eu-west-1", "TF_STATE_REGION": "eu-central-1", "TF_STATE_KMS_KEY_ID": "alias/state"}).state.kms_key_id


def test_a_state_key_arn_is_not_judged_where_no_s3_backend_uses_it() -> None:
    config = build_app_config(
        {"STATE_BACKEND": "cloud", "TF_CLOUD_ORGANIZATION": "acme", "TF_STATE_KMS_KEY_ID": "arn:aws:kms:eu-west-1:123456789012:alias/state"}
    )
    assert config.state.backend == "cloud"
    with pytest.raises(ConfigError, match="TF_STATE_KMS_KEY_ID"):
        build_app_config(
            {
                "STATE_BACKEND": "local",
                "TF_STATE_BOOTSTRAP_BACKEND": "s3",
                "TF_STATE_KMS_KEY_ID": "arn:aws:kms:eu-west-1:123456789012:alias/state",
            }
        )


def test_fails_an_alarm_topic_outside_the_stacks_region() -> None:
    with pytest.raises(ConfigError) as excinfo:
        build_app_config({"AWS_REGION": "eu-west-1", "ALARM_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:paging"})
    assert str(excinfo.value) == (
        "ALARM_TOPIC_ARN='arn:aws:sns:us-east-1:123456789012:paging' is invalid: a topic in AWS_REGION=eu-west-1 of the aws partition "
        "(CloudWatch alarms notify topics of their own region)"
    )
    cn = build_app_config({"AWS_REGION": "cn-north-1", "ALARM_TOPIC_ARN": "arn:aws-cn:sns:cn-north-1:123456789012:paging"})
    assert {e.monitoring.alarm_topic_arn for e in cn.environments} == {"arn:aws-cn:sns:cn-north-1:123456789012:paging"}


# -------------------------------------------------------------- what a region lacks


@pytest.mark.parametrize("region", sorted(name for name, r in REGIONS.items() if not r.data_api))
def test_a_region_without_the_data_api_turns_it_off_and_says_so(region: str) -> None:
    topic = f"arn:{REGIONS[region].partition}:sns:{region}:123456789012"
    config = build_app_config({"AWS_REGION": region, "ALARM_TOPIC_ARN": f"{topic}:paging", "TICKET_TOPIC_ARN": f"{topic}:tickets"})
    assert {e.database.data_api for e in config.environments} == {False}
    assert config.warnings == [
        f"{region} has no RDS Data API: database.data_api is off there (stacks/config/catalogue.py), "
        "so make db-users cannot create the database users; create them another way (README, Database)"
    ]


def test_fails_the_data_api_where_the_region_has_none() -> None:
    from stacks.config import EnvironmentConfig

    with pytest.raises(ConfigError) as excinfo:
        EnvironmentConfig(name="dev", region="il-central-1")
    assert excinfo.value.field_name == "database.data_api"
    assert excinfo.value.allowed.startswith("False in il-central-1: the RDS Data API is not offered there")


def test_the_data_api_stays_on_where_the_region_has_it() -> None:
    config = build_app_config({"AWS_REGION": "eu-west-1"})
    assert {e.database.data_api for e in config.environments} == {True}
    assert not any("Data API" in w for w in config.warnings)


def test_us_west_1_warns_that_most_accounts_have_two_zones_until_the_letters_are_set() -> None:
    loud = build_app_config({"AWS_REGION": "us-west-1", "ENVIRONMENTS": "dev"})
    assert loud.warnings == [
        "us-west-1 offers most accounts only 2 availability zones (which ones differs per account), and the stacks use 3 (a,b,c): "
        "set AVAILABILITY_ZONE_LETTERS to the 2 your account has (aws ec2 describe-availability-zones)"
    ]
    quiet = build_app_config({"AWS_REGION": "us-west-1", "ENVIRONMENTS": "dev", "AVAILABILITY_ZONE_LETTERS": "b,c"})
    assert quiet.warnings == []
    assert quiet.environments[0].network.availability_zones("us-west-1") == ("us-west-1b", "us-west-1c")
    assert quiet.environments[0].network.az_count == 2
    assert build_app_config({"AWS_REGION": "eu-west-1", "ENVIRONMENTS": "dev"}).warnings == []


def test_a_domain_under_a_punycode_top_level_domain_is_accepted() -> None:
    config = build_app_config({"PROD_DOMAIN_NAME": "api.acme.xn--p1ai", "PROD_HOSTED_ZONE": "acme.xn--p1ai", "ENVIRONMENTS": "prod"})
    assert config.environments[0].load_balancer.domain_name == "api.acme.xn--p1ai"


def test_each_standing_environment_takes_its_domain_from_configuration() -> None:
    config = build_app_config(
        {
            "STAGING_DOMAIN_NAME": "api.staging.acme-orders.com",
            "STAGING_HOSTED_ZONE": "staging.acme-orders.com",
            "PROD_DOMAIN_NAME": "api.acme-orders.com",
            "PROD_HOSTED_ZONE": "acme-orders.com",
            "PROD_CERTIFICATE_ARN": "arn:aws:acm:us-east-1:123456789012:certificate/0123abcd-0123-4567-89ab-0123456789ab",
            "DEV_DOMAIN_NAME": "api.dev.acme-orders.com",
            "DEV_HOSTED_ZONE": "dev.acme-orders.com",
            "ENVIRONMENT_SUFFIX": "pr42",
        }
    )
    lbs = {env.stack_name: env.load_balancer for env in config.environments}
    assert (lbs["order-api-staging"].domain_name, lbs["order-api-staging"].hosted_zone_name) == ("api.staging.acme-orders.com", "staging.acme-orders.com")
    assert lbs["order-api-staging"].certificate_arn is None
    assert (lbs["order-api-prod"].domain_name, lbs["order-api-prod"].certificate_arn) == ("api.acme-orders.com", PROD_CERTIFICATE)
    assert lbs["order-api-dev"].domain_name == "api.dev.acme-orders.com"
    # A copy of dev never takes dev's domain: its record would collide with dev's.
    assert (lbs["order-api-dev-pr42"].domain_name, lbs["order-api-dev-pr42"].https) == (None, False)


def test_fails_a_domain_outside_its_zone_blaming_the_zone_variable() -> None:
    with pytest.raises(ConfigError) as excinfo:
        build_app_config({"PROD_DOMAIN_NAME": "api.acme-orders.com", "PROD_HOSTED_ZONE": "other.com"})
    assert (excinfo.value.field_name, excinfo.value.value) == ("PROD_HOSTED_ZONE", "other.com")
    assert "the public zone that contains api.acme-orders.com" in str(excinfo.value)


def test_fails_a_certificate_of_another_region() -> None:
    with pytest.raises(ConfigError) as excinfo:
        build_app_config({"PROD_CERTIFICATE_ARN": PROD_CERTIFICATE.replace("us-east-1", "eu-west-1")})
    assert excinfo.value.field_name == "PROD_CERTIFICATE_ARN"
    assert "a load balancer takes certificates of its own region only" in str(excinfo.value)


def test_fails_a_domain_without_its_zone_saying_the_zone_is_not_set() -> None:
    with pytest.raises(ConfigError) as excinfo:
        build_app_config({"DEV_DOMAIN_NAME": "api.dev.acme-orders.com"})
    assert str(excinfo.value).startswith("DEV_HOSTED_ZONE is not set: the public zone that contains api.dev.acme-orders.com")
