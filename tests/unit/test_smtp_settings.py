"""HOOKLINE_SMTP_URL and HOOKLINE_SMTP_FROM, read and checked at start (pure): what each
spelling means, and errors that say what to fix without showing the password."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hookline.config import Settings
from hookline.destinations.smtp import Relay, describe, parse_relay


@pytest.mark.parametrize(
    ("url", "relay"),
    [
        ("smtp://mail.example.com:2525", Relay("mail.example.com", 2525)),
        ("smtp://relay", Relay("relay", 25)),
        ("smtps://relay", Relay("relay", 465, implicit_tls=True, tls_required=True)),
        ("smtp://relay:587?tls=required", Relay("relay", 587, tls_required=True)),
        (
            "smtp://apikey:p%40ss%3Aword@relay:587",
            Relay("relay", 587, username="apikey", password="p@ss:word"),
        ),
    ],
)
def test_an_smtp_url_is_read(url: str, relay: Relay) -> None:
    assert parse_relay(url) == relay
    assert "password" not in repr(parse_relay(url)) or relay.password is None


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://relay:25", "must be smtp://"),
        ("smtp://relay:99999", "the port must be a number from 1 to 65535"),
        ("smtp://relay:0", "port 0"),
        ("smtp://:25", "has no host"),
        ("smtp://relay:25/x", "takes no path"),
        ("smtp://relay:25?tls=yes", "the only one is ?tls=required"),
        ("smtp://user:hunter2-secret@relay:25?starttls=1", "unknown parameter starttls"),
        ("smtp://user@relay:25", "give both a user and a password"),
    ],
)
def test_a_bad_smtp_url_stops_the_start_saying_what_to_fix_never_the_password(
    url: str, says: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        Settings(_env_file=None, smtp_url=url)
    assert says in str(raised.value)
    assert "hunter2" not in str(raised.value)
    assert "hunter2" not in repr(raised.value)


def test_the_sender_is_an_address_and_mailto_needs_a_relay() -> None:
    ok = Settings(_env_file=None, smtp_url="smtp://relay:25", smtp_from="Alerts <a@example.com>")
    assert ok.destination_kinds == frozenset({"https", "http", "mailto"})
    with pytest.raises(ValidationError, match="HOOKLINE_SMTP_FROM must be an email address"):
        Settings(_env_file=None, smtp_url="smtp://relay:25", smtp_from="alerts")
    with pytest.raises(ValidationError, match="set HOOKLINE_SMTP_URL"):
        Settings(_env_file=None, destinations="https,mailto")
    assert "mailto" not in Settings(_env_file=None).destination_kinds


def test_what_the_relay_answered_in_words_and_which_answers_are_final() -> None:
    import aiosmtplib

    from hookline.destinations.smtp import _Refused

    rcpt_5xx = _Refused(aiosmtplib.SMTPRecipientRefused(550, "5.1.1 User unknown", "b@x.io"))
    rcpt_4xx = _Refused(aiosmtplib.SMTPRecipientRefused(452, "4.2.2 Mailbox full", "b@x.io"))
    assert describe(rcpt_5xx, "a@x.io") == (
        "the SMTP relay refused recipient b@x.io: 550 5.1.1 User unknown",
        True,
    )
    assert describe(rcpt_4xx, "a@x.io")[1] is False
    assert describe(aiosmtplib.SMTPDataError(554, "5.7.1 Spam"), "a@x.io") == (
        "the SMTP relay refused the message: 554 5.7.1 Spam",
        True,
    )
    assert describe(aiosmtplib.SMTPDataError(451, "4.3.0 Later"), "a@x.io")[1] is False
    sender = describe(aiosmtplib.SMTPSenderRefused(553, "5.7.1 Not yours", "a@x.io"), "a@x.io")
    assert sender[1] is False
    assert "HOOKLINE_SMTP_FROM" in sender[0]
    login = describe(aiosmtplib.SMTPAuthenticationError(535, "5.7.8 bad"), "a@x.io")
    assert login == (
        "authentication failed: the SMTP relay refused hookline's login (535); check the user "
        "and password in HOOKLINE_SMTP_URL",
        False,
    )
