import ipaddress

import pytest

from hookline.errors import InvalidInput
from hookline.ssrf import (
    NetworkPolicy,
    blocked_reason,
    check_url,
    host_refusal,
    parse_ip_literal,
    parse_url,
)

STRICT = NetworkPolicy()
DEV = NetworkPolicy.development()
LOOPBACK_OPENED = NetworkPolicy(
    allowed_networks=(ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
)


def fullwidth(text: str) -> str:
    """Every character as its FULLWIDTH form (digits, letters, FULLWIDTH FULL STOP)."""
    return text.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})


def fullwidth_digits(text: str) -> str:
    """Digits as FULLWIDTH DIGIT, the rest (dots) unchanged."""
    return text.translate({ord(str(d)): 0xFF10 + d for d in range(10)})


def circled(text: str) -> str:
    """Digits as CIRCLED DIGIT (zero is U+24EA), letters as CIRCLED LATIN SMALL LETTER."""
    table = {ord("0"): 0x24EA, **{ord(str(d)): 0x245F + d for d in range(1, 10)}}
    table |= {c: 0x24D0 + c - ord("a") for c in range(ord("a"), ord("z") + 1)}
    return text.translate(table)


def bold(text: str) -> str:
    """Digits as MATHEMATICAL BOLD DIGIT."""
    return text.translate({ord(str(d)): 0x1D7CE + d for d in range(10)})


IDEOGRAPHIC_FULL_STOP = "\u3002"
HALFWIDTH_IDEOGRAPHIC_FULL_STOP = "\uff61"
NOT_PUBLIC = "not a public internet address"
LOCAL_NAME = "names this machine or a local network"

# Every spelling of "this machine" we know, as the host part of a URL (port added by the user of
# the table). The HTTP client (yarl: IDNA/UTS-46, then the resolver) reads each as loopback or
# this host. One table, used at save (here and through the API) and at connect
# (tests/integration/test_ssrf_guard.py). `says` is what the refusal must name.
LOCAL_HOSTS = [
    # Unicode spellings that IDNA/UTS-46 maps to ASCII
    pytest.param(fullwidth_digits("127.0.0.1"), "is 127.0.0.1, not", id="fullwidth"),
    pytest.param(fullwidth("127.0.0.1"), "is 127.0.0.1, not", id="fullwidth-dots"),
    pytest.param(
        IDEOGRAPHIC_FULL_STOP.join(["127", "0", "0", "1"]), "is 127.0.0.1, not", id="ideo"
    ),
    pytest.param(
        HALFWIDTH_IDEOGRAPHIC_FULL_STOP.join(["127", "0", "0", "1"]),
        "is 127.0.0.1, not",
        id="halfw",
    ),
    pytest.param(circled("127.0.0.1"), "is 127.0.0.1, not", id="circled"),
    pytest.param(bold("127.0.0.1"), "is 127.0.0.1, not", id="math-bold"),
    pytest.param("\u00b9\u00b2\u2077.\u2070.\u2070.\u00b9", "is 127.0.0.1, not", id="superscript"),
    pytest.param(fullwidth("2130706433"), "is 127.0.0.1, not", id="fullwidth-decimal"),
    pytest.param(fullwidth("0x7f") + "." + fullwidth("1"), "is 127.0.0.1, not", id="fullwidth-hex"),
    pytest.param("[::ffff:" + fullwidth("127") + ".0.0.1]", "(it carries 127.0.0.1)", id="v6-fw"),
    pytest.param(fullwidth("localhost"), "is localhost, which " + LOCAL_NAME, id="fw-localhost"),
    pytest.param(fullwidth("LOCALHOST") + ".", "is localhost., which " + LOCAL_NAME, id="fw-LH."),
    pytest.param(circled("localhost"), "is localhost, which " + LOCAL_NAME, id="circled-localhost"),
    pytest.param("localhost" + IDEOGRAPHIC_FULL_STOP, "is localhost., which", id="localhost-ideo"),
    # names certain to be local, in any case, with trailing dots
    pytest.param("localhost", LOCAL_NAME, id="localhost"),
    pytest.param("LOCALHOST", LOCAL_NAME, id="LOCALHOST"),
    pytest.param("localhost.", LOCAL_NAME, id="localhost."),
    pytest.param("api.localhost", LOCAL_NAME, id="sub.localhost"),
    pytest.param("Api.LocalHost.", LOCAL_NAME, id="sub.localhost."),
    pytest.param("localhost.localdomain", LOCAL_NAME, id="localdomain"),
    # IPv4 literals in every numeric spelling a resolver accepts
    pytest.param("127.0.0.1", NOT_PUBLIC, id="dotted"),
    pytest.param("127.0.0.1.", "is 127.0.0.1, not", id="trailing-dot"),
    pytest.param("127.1", "is 127.0.0.1, not", id="short"),
    pytest.param("2130706433", "is 127.0.0.1, not", id="decimal"),
    pytest.param("0x7f.1", "is 127.0.0.1, not", id="hex-short"),
    pytest.param("0x7F000001", "is 127.0.0.1, not", id="hex"),
    pytest.param("0177.0.0.1", "is 127.0.0.1, not", id="octal"),
    pytest.param("017700000001", "is 127.0.0.1, not", id="octal-whole"),
    pytest.param("0", "is 0.0.0.0, not", id="zero"),
    pytest.param("0.0.0.0", NOT_PUBLIC, id="any"),
    # IPv6 literals, with embedded IPv4 and zone ids
    pytest.param("[::1]", NOT_PUBLIC, id="v6-loopback"),
    pytest.param("[::]", NOT_PUBLIC, id="v6-any"),
    pytest.param("[::ffff:127.0.0.1]", "(it carries 127.0.0.1)", id="v4-mapped"),
    pytest.param("[0:0:0:0:0:ffff:7f00:1]", "(it carries 127.0.0.1)", id="v4-mapped-long"),
    pytest.param("[::ffff:7f00:1]", "(it carries 127.0.0.1)", id="v4-mapped-hex"),
    pytest.param("[::127.0.0.1]", "(it carries 127.0.0.1)", id="v4-compatible"),
    pytest.param("[::1%25lo]", "IPv6 zone id", id="zone-loopback"),
    pytest.param("[fe80::1%25eth0]", "IPv6 zone id", id="zone-link-local"),
]

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


@pytest.mark.parametrize(("host", "says"), LOCAL_HOSTS)
def test_every_spelling_of_this_machine_is_refused_when_saved(host: str, says: str) -> None:
    with pytest.raises(InvalidInput, match=r"^url host ") as refused:
        check_url(f"https://{host}:8443/hooks", STRICT)
    assert says in str(refused.value)
    assert "webhooks may only reach public hosts" in str(refused.value)


@pytest.mark.parametrize(("host", "says"), LOCAL_HOSTS)
def test_the_refusal_judges_the_host_the_client_will_connect_to(host: str, says: str) -> None:
    """The same rule, on the URL read once as aiohttp reads it (what Transport.post checks)."""
    url = f"http://{host}:8080/"
    reason = host_refusal(parse_url(url), STRICT, written=url)
    assert reason is not None
    assert says in reason


def test_the_message_names_the_host_as_written_and_what_it_means() -> None:
    host = fullwidth_digits("127.0.0.1")
    with pytest.raises(InvalidInput) as refused:
        check_url(f"https://{host}/", STRICT)
    assert str(refused.value).startswith(
        f"url host {host} is 127.0.0.1, not a public internet address; webhooks may only "
        "reach public hosts (use --dev or HOOKLINE_ALLOWED_NETWORKS"
    )


@pytest.mark.parametrize(("host", "says"), LOCAL_HOSTS)
def test_dev_mode_still_accepts_every_local_spelling(host: str, says: str) -> None:
    url = f"http://{host}:9000/hooks"
    assert check_url(url, DEV) == url


@pytest.mark.parametrize(
    "host",
    [
        fullwidth("127.0.0.1"),
        circled("127.0.0.1"),
        IDEOGRAPHIC_FULL_STOP.join(["127", "0", "0", "1"]),
        "0x7f.1",
        "2130706433",
        "[::1]",
    ],
)
def test_allowed_networks_open_loopback_in_every_spelling(host: str) -> None:
    url = f"https://{host}:9000/hooks"
    assert check_url(url, LOOPBACK_OPENED) == url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://xn--zz.example/", "not a valid URL"),  # punycode IDNA cannot decode
        ("https://ex\u00adample.com/", "not a valid URL"),  # soft hyphen
        ("https://ex\u200dample.com/", "not a valid URL"),  # zero-width joiner
        ("https://127.0.0.1\\@example.com/", "not a valid URL"),
        ("https://%31%32%37.0.0.1/", "not a valid host name"),
        ("https://a..example/", "not a valid host name"),
        ("https://localhost../", "not a valid host name"),
        ("https://[::ffff:127.1]/", "not a valid"),
        ("https://999.1.1.1/", "neither an IP address nor a host name"),
        ("https://a@b@example.com/", "must not contain credentials"),
    ],
)
def test_hosts_the_client_cannot_read_one_way_are_refused(url: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        check_url(url, STRICT)


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://" + fullwidth("example") + ".com/hooks", "example.com"),
        ("https://EXAMPLE.com./hooks", "example.com."),
        ("https://b\u00fccher.example/", "xn--bcher-kva.example"),
        ("https://hooks_1.example.com/", "hooks_1.example.com"),
    ],
)
def test_public_names_in_any_spelling_pass_and_are_read_as_the_client_reads_them(
    url: str, host: str
) -> None:
    assert check_url(url, STRICT) == url
    assert parse_url(url).raw_host == host
