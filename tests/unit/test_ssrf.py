import ipaddress

import pytest

from hookline.errors import InvalidInput
from hookline.ssrf import NetworkPolicy, blocked_reason, check_url, parse_ip_literal

STRICT = NetworkPolicy()
DEV = NetworkPolicy.development()

BLOCKED = [
    "127.0.0.1",
    "127.255.0.9",
    "10.1.2.3",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "169.254.0.1",
    "100.64.0.1",  # carrier-grade NAT
    "100.127.255.254",
    "0.0.0.0",
    "0.1.2.3",
    "224.0.0.1",  # multicast
    "239.255.255.250",
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "198.18.0.1",  # benchmarking
    "192.0.2.1",  # documentation
    "::1",
    "::",
    "fe80::1",  # link-local
    "fc00::1",  # unique local
    "ff02::1",  # multicast
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:169.254.169.254",
    "::127.0.0.1",  # IPv4-compatible
    "64:ff9b::10.0.0.1",  # NAT64
    "64:ff9b::7f00:1",
    "2002:7f00:1::",  # 6to4 carrying 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 carrying 169.254.169.254
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo carrying 127.0.0.1
]

ALLOWED = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "100.63.255.255",  # just below CGNAT
    "172.32.0.1",  # just above 172.16/12
    "2606:4700:4700::1111",
    "2001:4860:4860::8888",
    "::ffff:8.8.8.8",
]


@pytest.mark.parametrize("address", BLOCKED)
def test_non_public_addresses_are_blocked(address: str) -> None:
    reason = blocked_reason(ipaddress.ip_address(address), STRICT)
    assert reason is not None
    assert "not a public internet address" in reason


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_are_allowed(address: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address), STRICT) is None


@pytest.mark.parametrize("address", BLOCKED)
def test_dev_mode_allows_everything(address: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address), DEV) is None


def test_allowed_networks_open_chosen_ranges_only() -> None:
    policy = NetworkPolicy(allowed_networks=(ipaddress.ip_network("10.20.0.0/16"),))
    assert blocked_reason(ipaddress.ip_address("10.20.3.4"), policy) is None
    assert blocked_reason(ipaddress.ip_address("10.21.3.4"), policy) is not None


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("example.com", None),
        ("deadbeef.example", None),
        ("1.2.3.4.5", None),
    ],
)
def test_ip_literals_in_every_spelling_are_recognised(host: str, address: str | None) -> None:
    parsed = parse_ip_literal(host)
    assert (str(parsed) if parsed else None) == address


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/", "must start with https://"),
        ("example.com/hook", "must start with https://"),
        ("http://example.com/", "must use https://"),
        ("https://user:pw@example.com/", "must not contain credentials"),
        ("https:///path", "has no host name"),
        ("https://127.0.0.1/", "not a public internet address"),
        ("https://2130706433/", "not a public internet address"),
        ("https://0x7f.1/", "not a public internet address"),
        ("https://[::ffff:10.0.0.1]/", "not a public internet address"),
        ("https://169.254.169.254/latest/meta-data", "not a public internet address"),
        ("https://localhost:8080/", "names this machine"),
        ("https://api.localhost/", "names this machine"),
        ("https://example.com:99999/", "not a valid URL"),
        ("https://exa mple.com/", "spaces"),
        ("https://example.com/" + "a" * 2100, "the limit is 2048"),
    ],
)
def test_bad_urls_are_refused_with_a_reason(url: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        check_url(url, STRICT)


@pytest.mark.parametrize(
    "url",
    ["https://example.com/hooks", "https://93.184.216.34:8443/x?y=1", "https://[2606:4700::1]/"],
)
def test_good_urls_pass(url: str) -> None:
    assert check_url(url, STRICT) == url


def test_dev_mode_allows_plain_http_and_loopback() -> None:
    assert check_url("http://127.0.0.1:9000/hooks", DEV)
    assert check_url("http://localhost:9000/hooks", DEV)
    with pytest.raises(InvalidInput, match="credentials"):
        check_url("http://u:p@localhost/", DEV)
