"""The Outlook add-in manifest (XML MailApp) for one https origin, for `rollcall manifest`."""

from __future__ import annotations

import re
import uuid
from string import Template
from urllib.parse import urlsplit

DEFAULT_URL = "https://localhost:3000"
PLACEHOLDER_CLIENT_ID = "00000000-0000-0000-0000-000000000000"
# Outlook keys add-ins by <Id>: deriving it from the origin lets a developer's localhost
# manifest and the production one be installed side by side without replacing each other.
_ID_NAMESPACE = uuid.UUID("6f1d3c2e-7a4b-4f0e-9b8a-52c0de11ca11")
GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
HOST = re.compile(r"^[A-Za-z0-9.-]+(:[0-9]{1,5})?$")  # a Host header's host[:port], nothing else


def origin(url: str) -> str:
    """`https://host[:port]` from a URL; ValueError names what is wrong (not https, a path)."""
    parts = urlsplit(url.strip())
    if parts.scheme != "https":
        raise ValueError(f"{url!r}: Outlook loads add-ins only over https://")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError(f"{url!r}: give the origin only, like https://rollcall.example.com")
    if not HOST.match(parts.netloc):
        raise ValueError(f"{url!r}: not a host name")
    return f"https://{parts.netloc.lower()}"


def addin_id(base: str) -> str:
    """The add-in's <Id> for an origin: stable for that origin, different for any other."""
    return str(uuid.uuid5(_ID_NAMESPACE, base))


def render(url: str = DEFAULT_URL, client_id: str = PLACEHOLDER_CLIENT_ID) -> str:
    """The manifest for `url`; ValueError for a URL that is not an https origin or a bad id."""
    base = origin(url)
    if not GUID.match(client_id):
        raise ValueError(f"{client_id!r}: the client id is the app registration's GUID")
    return _TEMPLATE.substitute(
        base=base,
        host=base.removeprefix("https://"),
        addin_id=addin_id(base),
        client_id=client_id.lower(),
        description=_DESCRIPTION,
        tooltip=_TOOLTIP,
    )


# At most 80 characters: the unified manifest's short description, if this one is converted.
_DESCRIPTION = "Counts the unique people a message reaches through its lists, and explains why."
_TOOLTIP = ("Count the unique people this message will reach through every list in To, Cc and "
            "Bcc, and see why.")

# Element order follows Microsoft's schemas (OfficeAppManifestV1_1, MailAppVersionOverridesV1_1,
# MS-OWEMXML); tests/unit/test_manifest.py checks it. Mailbox 1.12 is what OnMessageSend needs.
_TEMPLATE = Template("""\
<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<OfficeApp xmlns="http://schemas.microsoft.com/office/appforoffice/1.1"
           xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
           xmlns:bt="http://schemas.microsoft.com/office/officeappbasictypes/1.0"
           xmlns:mailappor="http://schemas.microsoft.com/office/mailappversionoverrides/1.0"
           xsi:type="MailApp">
  <Id>$addin_id</Id>
  <Version>1.0.0.0</Version>
  <ProviderName>Rollcall</ProviderName>
  <DefaultLocale>en-US</DefaultLocale>
  <DisplayName DefaultValue="Rollcall"/>
  <Description DefaultValue="$description"/>
  <IconUrl DefaultValue="$base/assets/icon-64.png"/>
  <HighResolutionIconUrl DefaultValue="$base/assets/icon-128.png"/>
  <SupportUrl DefaultValue="$base/"/>
  <AppDomains>
    <AppDomain>$base</AppDomain>
  </AppDomains>
  <Hosts>
    <Host Name="Mailbox"/>
  </Hosts>
  <Requirements>
    <Sets>
      <Set Name="Mailbox" MinVersion="1.1"/>
    </Sets>
  </Requirements>
  <FormSettings>
    <Form xsi:type="ItemEdit">
      <DesktopSettings>
        <SourceLocation DefaultValue="$base/taskpane.html"/>
      </DesktopSettings>
    </Form>
  </FormSettings>
  <Permissions>ReadWriteItem</Permissions>
  <Rule xsi:type="RuleCollection" Mode="Or">
    <Rule xsi:type="ItemIs" ItemType="Message" FormType="Edit"/>
  </Rule>
  <DisableEntityHighlighting>false</DisableEntityHighlighting>
  <VersionOverrides xmlns="http://schemas.microsoft.com/office/mailappversionoverrides"
                    xsi:type="VersionOverridesV1_0">
    <VersionOverrides xmlns="http://schemas.microsoft.com/office/mailappversionoverrides/1.1"
                      xsi:type="VersionOverridesV1_1">
      <Requirements>
        <bt:Sets DefaultMinVersion="1.12">
          <bt:Set Name="Mailbox"/>
        </bt:Sets>
      </Requirements>
      <Hosts>
        <Host xsi:type="MailHost">
          <Runtimes>
            <Runtime resid="SendCheck.Url">
              <Override type="javascript" resid="SendCheckJs.Url"/>
            </Runtime>
          </Runtimes>
          <DesktopFormFactor>
            <ExtensionPoint xsi:type="MessageComposeCommandSurface">
              <OfficeTab id="TabDefault">
                <Group id="Rollcall.ComposeGroup">
                  <Label resid="Group.Label"/>
                  <Control xsi:type="Button" id="Rollcall.CountButton">
                    <Label resid="CountButton.Label"/>
                    <Supertip>
                      <Title resid="CountButton.Label"/>
                      <Description resid="CountButton.Tooltip"/>
                    </Supertip>
                    <Icon>
                      <bt:Image size="16" resid="Icon.16x16"/>
                      <bt:Image size="32" resid="Icon.32x32"/>
                      <bt:Image size="80" resid="Icon.80x80"/>
                    </Icon>
                    <Action xsi:type="ShowTaskpane">
                      <SourceLocation resid="Taskpane.Url"/>
                    </Action>
                  </Control>
                </Group>
              </OfficeTab>
            </ExtensionPoint>
            <ExtensionPoint xsi:type="LaunchEvent">
              <LaunchEvents>
                <LaunchEvent Type="OnMessageSend" FunctionName="onMessageSendHandler"
                             SendMode="SoftBlock"/>
                <LaunchEvent Type="OnMessageRecipientsChanged"
                             FunctionName="onMessageRecipientsChangedHandler"/>
              </LaunchEvents>
              <SourceLocation resid="SendCheck.Url"/>
            </ExtensionPoint>
          </DesktopFormFactor>
        </Host>
      </Hosts>
      <Resources>
        <bt:Images>
          <bt:Image id="Icon.16x16" DefaultValue="$base/assets/icon-16.png"/>
          <bt:Image id="Icon.32x32" DefaultValue="$base/assets/icon-32.png"/>
          <bt:Image id="Icon.80x80" DefaultValue="$base/assets/icon-80.png"/>
        </bt:Images>
        <bt:Urls>
          <bt:Url id="Taskpane.Url" DefaultValue="$base/taskpane.html"/>
          <bt:Url id="SendCheck.Url" DefaultValue="$base/commands.html"/>
          <bt:Url id="SendCheckJs.Url" DefaultValue="$base/sendcheck.js"/>
        </bt:Urls>
        <bt:ShortStrings>
          <bt:String id="Group.Label" DefaultValue="Rollcall"/>
          <bt:String id="CountButton.Label" DefaultValue="Get Recipient Count"/>
        </bt:ShortStrings>
        <bt:LongStrings>
          <bt:String id="CountButton.Tooltip" DefaultValue="$tooltip"/>
        </bt:LongStrings>
      </Resources>
      <WebApplicationInfo>
        <Id>$client_id</Id>
        <Resource>api://$host/$client_id</Resource>
        <Scopes>
          <Scope>openid</Scope>
          <Scope>profile</Scope>
        </Scopes>
      </WebApplicationInfo>
    </VersionOverrides>
  </VersionOverrides>
</OfficeApp>
""")
