"""SOAP envelopes, faults and the small XML pieces every EWS answer is made of.

Answers are written as strings: building a 2,000-member ExpandDL answer this way takes about a
millisecond, an element tree several times that.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
M_NS = "http://schemas.microsoft.com/exchange/services/2006/messages"
T_NS = "http://schemas.microsoft.com/exchange/services/2006/types"
E_NS = "http://schemas.microsoft.com/exchange/services/2006/errors"

_NS_DECL = f'xmlns:m="{M_NS}" xmlns:t="{T_NS}"'


class SoapFault(Exception):
    """An answer as a SOAP fault (HTTP 500) rather than a response message."""

    def __init__(self, code: str, message: str, back_off_ms: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.back_off_ms = back_off_ms


class ResponseError(Exception):
    """One response message answered with ResponseClass Error (or Warning) and a ResponseCode."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def text(value: str) -> str:
    return escape(value)


def attr(value: str) -> str:
    return quoteattr(value)


def envelope(body: str, build: tuple[int, int, int, int], version: str | None) -> bytes:
    """A full response: the ServerVersionInfo header (exchangelib's version probe) and a body."""
    version_attr = f" Version={attr(version)}" if version else ""
    header = (
        f'<h:ServerVersionInfo MajorVersion="{build[0]}" MinorVersion="{build[1]}" '
        f'MajorBuildNumber="{build[2]}" MinorBuildNumber="{build[3]}"{version_attr} '
        f'xmlns:h="{T_NS}"/>'
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<s:Envelope xmlns:s="{SOAP_NS}"><s:Header>{header}</s:Header>'
        f"<s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


def fault(f: SoapFault) -> bytes:
    """A SOAP fault envelope as Exchange writes it, with BackOffMilliseconds when throttling."""
    faultcode = f'<faultcode xmlns:a="{T_NS}">a:{f.code}</faultcode>'
    back_off = ""
    if f.back_off_ms is not None:
        back_off = (
            f'<t:MessageXml xmlns:t="{T_NS}">'
            f'<t:Value Name="BackOffMilliseconds">{f.back_off_ms}</t:Value></t:MessageXml>'
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<s:Envelope xmlns:s="{SOAP_NS}"><s:Body><s:Fault>{faultcode}'
        f'<faultstring xml:lang="en-US">{text(f.message)}</faultstring>'
        f'<detail><e:ResponseCode xmlns:e="{E_NS}">{f.code}</e:ResponseCode>'
        f'<e:Message xmlns:e="{E_NS}">{text(f.message)}</e:Message>{back_off}</detail>'
        "</s:Fault></s:Body></s:Envelope>"
    ).encode()


def response(operation: str, messages: list[str]) -> str:
    """`<m:{op}Response>` holding the given response messages."""
    return (
        f"<m:{operation}Response {_NS_DECL}><m:ResponseMessages>"
        f"{''.join(messages)}</m:ResponseMessages></m:{operation}Response>"
    )


def success(operation: str, inner: str, attrs: str = "") -> str:
    return (
        f'<m:{operation}ResponseMessage ResponseClass="Success"{attrs}>'
        f"<m:ResponseCode>NoError</m:ResponseCode>{inner}</m:{operation}ResponseMessage>"
    )


def error(operation: str, err: ResponseError, klass: str = "Error", inner: str = "") -> str:
    return (
        f'<m:{operation}ResponseMessage ResponseClass="{klass}">'
        f"<m:MessageText>{text(err.message)}</m:MessageText>"
        f"<m:ResponseCode>{err.code}</m:ResponseCode>"
        f"<m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>{inner}"
        f"</m:{operation}ResponseMessage>"
    )


def email_address(
    tag: str,
    name: str,
    address: str | None,
    routing: str | None,
    mailbox_type: str,
    item_id: str | None = None,
) -> str:
    """A `t:EmailAddressType` element (Mailbox in ExpandDL/ResolveNames, inside Member)."""
    parts = [f"<t:{tag}><t:Name>{text(name)}</t:Name>"]
    if address:
        parts.append(f"<t:EmailAddress>{text(address)}</t:EmailAddress>")
    if routing:
        parts.append(f"<t:RoutingType>{routing}</t:RoutingType>")
    parts.append(f"<t:MailboxType>{mailbox_type}</t:MailboxType>")
    if item_id:
        parts.append(f'<t:ItemId Id={attr(item_id)} ChangeKey="{CHANGE_KEY}"/>')
    parts.append(f"</t:{tag}>")
    return "".join(parts)


CHANGE_KEY = "EQAAABYAAAA="
