"""The `email` format and `template` on mailto: (pure): seed 001's order-filled mail, a batch
in one mail, escaping, the text part, the checks made when a webhook is saved, and the request
an attempt sends (signed over the text part)."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from typing import Any

import orjson
import pytest
import standardwebhooks

from hookline import formats, signing
from hookline.deliver import Job, Target, build_request
from hookline.destinations.smtp import compose
from hookline.errors import InvalidInput
from hookline.formats.email import clean_subject, default_subject, text_of, words
from hookline.models import Trigger

FILLED = {
    "orderId": "ord_123",
    "symbol": "BTCUSDT",
    "side": "buy",
    "amount": 0.1,
    "price": 45000,
    "exchange": "binance",
}
CONTEXT = formats.Context("wh_1", "desk")
MAIL = "mailto:alice@example.com"


def envelope(data: Any, event_type: str = "order.filled", number: int = 1) -> str:
    body = {"id": f"evt_{number}", "type": event_type, "timestamp": "2026-01-01T00:00:00Z"}
    return orjson.dumps({**body, "data": data}).decode()


def test_seed_001s_order_filled_mail_subject_heading_table_and_text() -> None:
    mail = formats.render_email(formats.Spec("email"), [envelope(FILLED)], CONTEXT)
    assert mail.subject == "Order Filled: BTCUSDT"
    assert mail.html.startswith('<h2>Order Filled Notification</h2>\n<table border="1"')
    assert "<tr><td><strong>Order Id</strong></td><td>ord_123</td></tr>" in mail.html
    assert "<tr><td><strong>Price</strong></td><td>45000</td></tr>" in mail.html
    assert mail.text.startswith("Order Filled Notification\r\n\r\nOrder Id: ord_123\r\n")
    assert "\r\nExchange: binance\r\n" in mail.text
    assert mail.text.endswith("Event evt_1 (order.filled) at 2026-01-01T00:00:00Z\r\n")
    assert "\n" not in mail.text.replace("\r\n", "")  # CRLF only, as MIME text is


def test_every_value_and_key_is_escaped_in_the_html() -> None:
    data = {"<b>note</b>": "<script>alert(1)</script>", "nested": {"x": "a&b"}, "list": [1, "<i>"]}
    mail = formats.render_email(formats.Spec("email"), [envelope(data)], CONTEXT)
    assert "<script>" not in mail.html
    assert "<b>" not in mail.html
    assert "<i>" not in mail.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in mail.html
    assert "<td>a&amp;b</td>" in mail.html  # a nested object is a nested table
    assert "<script>alert(1)</script>" in mail.text  # the text part is text


@pytest.mark.parametrize(
    ("event_type", "data", "subject"),
    [
        ("order.filled", {"symbol": "ETHUSDT"}, "Order Filled: ETHUSDT"),
        ("model.ready", {"token_symbol": "TOKEN_ABC"}, "Model Ready: TOKEN_ABC"),
        ("price_above", {"price": 1}, "Price Above"),
        ("alert", {"title": "Liquidation Cascade Detected - BTC/USDT"}, "Liquidation Cascade "
         "Detected - BTC/USDT"),
        ("order.filled", [1, 2], "Order Filled"),
    ],
)  # fmt: skip
def test_the_subject_is_the_event_type_in_words_and_a_key_field(
    event_type: str, data: Any, subject: str
) -> None:
    assert default_subject(event_type, data) == subject


def test_words_and_a_subject_kept_to_one_short_line() -> None:
    assert words("orderId") == "Order Id"
    assert words("user.KYC_done") == "User KYC Done"
    assert clean_subject("a\r\nBcc: eve@example.com\tb") == "a Bcc: eve@example.com b"
    assert len(clean_subject("x" * 500)) == 200


def test_a_batch_is_one_mail_with_a_section_per_event() -> None:
    payloads = [envelope({**FILLED, "symbol": s}, number=n) for n, s in enumerate("ABC")]
    payloads.append(envelope({"price": 9}, "price.above", number=9))
    mail = formats.render_email(formats.Spec("email"), payloads, CONTEXT)
    assert mail.subject == "4 events: order.filled, price.above"
    assert mail.html.count("<hr>") == 4
    assert [line for line in mail.text.split("\r\n") if line.startswith("Order Filled: ")] == [
        "Order Filled: A",
        "Order Filled: B",
        "Order Filled: C",
    ]
    assert "Event evt_9 (price.above)" in mail.text


def test_a_template_renders_escaped_html_and_a_subject_template_the_subject() -> None:
    spec = formats.Spec(
        "template",
        "<style>p{}</style><p>{{ data.side | upper }} {{ data.exchange }}</p>{{ '<br>' | safe }}x",
        {"subject": "{{ data.symbol }}\n filled for {{ webhook.name }}"},
    )
    mail = formats.render_email(spec, [envelope({**FILLED, "exchange": "<b>"})], CONTEXT)
    assert mail.subject == "BTCUSDT filled for desk"
    assert mail.html == "<style>p{}</style><p>BUY &lt;b&gt;</p><br>x"
    assert mail.text == "BUY <b>\r\n\r\nx\r\n"
    two = formats.render_email(spec, [envelope(FILLED), envelope(FILLED, number=2)], CONTEXT)
    assert two.subject == "BTCUSDT filled for desk (+1 more)"


def test_the_text_of_html_drops_tags_hidden_parts_and_keeps_rows_and_paragraphs() -> None:
    page = (
        "<html><head><title>T</title></head><body><h1>Hi &amp; bye</h1><p>one\n  two</p>"
        "<table><tr><th>A</th><td>1</td></tr><tr><td>B</td><td>2</td></tr></table>"
        "<ul><li>x</li><li>y</li></ul><script>nope()</script></body></html>"
    )
    assert text_of(page) == "Hi & bye\r\n\r\none two\r\n\r\nA: 1\r\nB: 2\r\n\r\nx\r\ny\r\n"


def test_a_template_that_fails_says_where() -> None:
    spec = formats.Spec("template", "<p>{{ data.x + 1 }}</p>")
    with pytest.raises(formats.FormatError, match=r"^template: TypeError"):
        formats.render_email(spec, [envelope({"x": "a"})], CONTEXT)


def test_mailto_gets_the_email_format_and_accepts_only_mail_formats() -> None:
    assert formats.default_for("mailto:alice@example.com") == "email"
    assert formats.default_for("MAILTO:alice@example.com") == "email"
    assert formats.check(formats.Spec("email"), MAIL) == formats.Spec("email")
    for name in ("standard", "data", "discord", "slack"):
        with pytest.raises(InvalidInput, match="a mailto: webhook sends email") as raised:
            formats.check(formats.Spec(name), MAIL)
        assert raised.value.loc == ("format",)
    with pytest.raises(InvalidInput, match="needs a mailto: url"):
        formats.check(formats.Spec("email"), "https://example.com/hook")


def test_saving_checks_the_template_and_subject_against_the_example_as_html() -> None:
    sample = formats.Sample("order.filled", FILLED, example=True)
    html_spec = formats.Spec("template", "<p>{{ data.symbol }}</p>", {"subject": "{{ data.side }}"})
    assert formats.check(html_spec, MAIL, sample) == html_spec  # HTML, not JSON: fine here
    with pytest.raises(InvalidInput, match="not valid JSON"):
        formats.check(formats.Spec("template", "<p>{{ data.symbol }}</p>"), "https://x.io/h")
    bad_subject = formats.Spec("email", None, {"subject": "{{ data.side + 1 }}"})
    with pytest.raises(InvalidInput, match=r"example of event type .order\.filled") as raised:
        formats.check(bad_subject, MAIL, sample)
    assert raised.value.loc == ("format_options", "subject")
    with pytest.raises(InvalidInput, match="renders the mail's HTML"):
        formats.check(formats.Spec("template"), MAIL)
    with pytest.raises(InvalidInput, match="'subject' is not an option of format 'template'"):
        formats.check(formats.Spec("template", "{}", {"subject": "x"}), "https://x.io/h")


SECRET = signing.generate_secret()


def mail_job(url: str = "mailto:alice@example.com,bob@example.com") -> Job:
    return Job(
        delivery_id="dlv_1",
        lease_token="lease_1",
        event_id="evt_1",
        event_type="order.filled",
        payload=envelope({**FILLED, "note": "Größe 1 — ✓  "}),
        target=Target(
            webhook_id="wh_1",
            url=url,
            keys=(signing.secret_key(SECRET),),
            headers={"X-Desk": "spot"},
            format=formats.Spec("email"),
            context=CONTEXT,
        ),
        number=1,
        trigger=Trigger.SCHEDULED,
        tenant_id="ten_1",
    )


def test_a_mailto_request_is_the_text_part_signed_with_subject_and_html_beside_it() -> None:
    request = build_request(mail_job(), 1_700_000_000)
    assert request.subject == "Order Filled: BTCUSDT"
    assert request.html is not None
    assert "<td>Größe 1 — ✓  </td>" in request.html
    assert request.body.decode().startswith("Order Filled Notification\r\n")
    assert "content-type" not in request.headers
    assert request.headers["x-webhook-event"] == "order.filled"
    assert request.headers["X-Desk"] == "spot"
    expected = standardwebhooks.Webhook(SECRET).sign(
        "evt_1", _at(1_700_000_000), request.body.decode()
    )
    assert request.headers["webhook-signature"] == expected


def test_the_mail_decodes_to_the_signed_text_byte_for_byte() -> None:
    request = build_request(mail_job(), 1_700_000_000)
    sent = compose(request, "Alerts <alerts@example.com>", ["alice@example.com"], at=1.7e9)
    received = email.message_from_bytes(sent.as_bytes(), policy=email.policy.default)
    assert isinstance(received, EmailMessage)
    text = received.get_body(("plain",))
    html = received.get_body(("html",))
    assert text is not None
    assert html is not None
    assert text.get_content().encode() == request.body
    shown = html.get_content().replace("\r\n", "\n")
    assert shown == f"{request.html}\n"  # MIME text ends with a line break
    assert received["Subject"] == "Order Filled: BTCUSDT"
    assert received["From"] == "Alerts <alerts@example.com>"
    assert received["webhook-signature"] == request.headers["webhook-signature"]
    assert received["X-Desk"] == "spot"


def test_headers_the_mail_is_made_of_are_never_taken_from_the_request() -> None:
    request = build_request(mail_job(), 1_700_000_000)
    forged = {**request.headers, "Bcc": "eve@example.com", "Subject": "forged"}
    sent = compose(
        type(request)(request.url, forged, request.body, subject="real"),
        "alerts@example.com",
        ["alice@example.com"],
        at=1.7e9,
    )
    assert sent["Bcc"] is None
    assert sent.get_all("Subject") == ["real"]


def _at(seconds: int) -> Any:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, tz=UTC)
