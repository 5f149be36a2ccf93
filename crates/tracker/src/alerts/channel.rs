//! Delivery channels: where an office's or the supervisors' alerts go (a
//! WeCom, DingTalk or Feishu group robot, or a JSON receiver), stored in
//! `alert_channels`. Built only through [`NewChannel::parse`], so a stored
//! channel always has an http(s) URL with a host, a known format and, for
//! `json`, a secret.
//!
//! Secrets are kept as given, since they sign every request; they, and the
//! key a robot's URL carries in its query (WeCom's `key=`, DingTalk's
//! `access_token=`), are masked in every listing, `Debug` and log.

use crate::Error;
use civicprobe_model::OfficeId;
use serde::Serialize;
use std::fmt;
use std::str::FromStr;
use time::OffsetDateTime;
use uuid::Uuid;

/// How a channel's messages are shaped and signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// WeCom group robot (企业微信群机器人), markdown.
    Wecom,
    /// DingTalk custom robot, markdown, optionally signed (加签).
    Dingtalk,
    /// Feishu custom bot, text, optionally signed (签名校验).
    Feishu,
    /// The alert as JSON with an HMAC-SHA256 signature header.
    Json,
}

impl Format {
    /// Every format, in the order the help lists them.
    pub const ALL: [Format; 4] = [
        Format::Wecom,
        Format::Dingtalk,
        Format::Feishu,
        Format::Json,
    ];

    /// The stored and command-line name.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Wecom => "wecom",
            Format::Dingtalk => "dingtalk",
            Format::Feishu => "feishu",
            Format::Json => "json",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = ChannelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or(ChannelError::Format)
    }
}

/// Whose alerts a channel carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "audience", content = "office_id", rename_all = "snake_case")]
pub enum Audience {
    /// One street office's.
    Office(OfficeId),
    /// The supervisors'.
    Supervisors,
}

/// Why a channel was refused.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    /// The office is not a known office.
    #[error(
        "{0} is not a known office (add it with `civicprobe office add` or the jurisdictions file)"
    )]
    UnknownOffice(OfficeId),
    /// The webhook is not an http(s) URL with a host.
    #[error("the webhook must be an http:// or https:// URL with a host, e.g. https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…")]
    Url,
    /// Not one of [`Format::ALL`].
    #[error("unknown format: expected wecom, dingtalk, feishu or json")]
    Format,
    /// A secret that cannot be used (empty, or with control characters).
    #[error("the secret must be non-empty printable text")]
    Secret,
    /// WeCom's group robot has no signed mode.
    #[error("a WeCom group robot takes no secret: its key is in the webhook URL")]
    SecretNotUsed,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] Error),
}

/// A webhook URL: http or https, with a host.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    /// Checks `raw`.
    pub fn parse(raw: &str) -> Result<WebhookUrl, ChannelError> {
        let url = reqwest::Url::parse(raw.trim()).map_err(|_| ChannelError::Url)?;
        let host_ok = url.host_str().is_some_and(|h| !h.is_empty());
        if !matches!(url.scheme(), "http" | "https") || !host_ok || url.fragment().is_some() {
            return Err(ChannelError::Url);
        }
        Ok(WebhookUrl(url.to_string()))
    }

    /// The URL itself (it may hold a key: never log it).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with every query value masked: fit for a listing or a log.
    pub fn masked(&self) -> String {
        masked_url(&self.0)
    }
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebhookUrl({})", self.masked())
    }
}

/// `https://h/p?key=abc&x=1` → `https://h/p?key=***&x=***`.
pub fn masked_url(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let masked: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) => format!("{key}=***"),
            None => pair.to_owned(),
        })
        .collect();
    format!("{base}?{}", masked.join("&"))
}

/// A signing secret, kept as given and never shown.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Checks `raw`: non-empty, no control characters.
    pub fn parse(raw: &str) -> Result<Secret, ChannelError> {
        if raw.is_empty() || raw.chars().any(char::is_control) {
            return Err(ChannelError::Secret);
        }
        Ok(Secret(raw.to_owned()))
    }

    /// A new random secret (32 bytes, hex) for a JSON channel.
    pub fn generate() -> Secret {
        Secret(hex::encode(rand::random::<[u8; 32]>()))
    }

    /// A secret read back from the database (checked when it was added).
    pub(crate) fn from_stored(raw: String) -> Secret {
        Secret(raw)
    }

    /// The secret itself, for signing (never log it).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A channel to add, checked.
#[derive(Clone, Debug)]
pub struct NewChannel {
    /// Whose alerts.
    pub audience: Audience,
    /// Where to.
    pub url: WebhookUrl,
    /// How shaped.
    pub format: Format,
    /// The signing secret (required for `json`, optional for DingTalk and
    /// Feishu, none for WeCom).
    pub secret: Option<Secret>,
    /// A name for people, e.g. the group's.
    pub label: Option<String>,
}

impl NewChannel {
    /// Checks every part. A `json` channel without a secret gets a
    /// generated one (`NewChannel::secret` then holds it: show it once).
    pub fn parse(
        audience: Audience,
        url: &str,
        format: &str,
        secret: Option<&str>,
        label: Option<&str>,
    ) -> Result<NewChannel, ChannelError> {
        let format: Format = format.parse()?;
        let url = WebhookUrl::parse(url)?;
        let secret = secret.map(Secret::parse).transpose()?;
        let secret = match (format, secret) {
            (Format::Wecom, Some(_)) => return Err(ChannelError::SecretNotUsed),
            (Format::Json, None) => Some(Secret::generate()),
            (_, secret) => secret,
        };
        let label = label
            .map(|l| l.chars().filter(|c| !c.is_control()).collect::<String>())
            .map(|l| l.trim().to_owned())
            .filter(|l| !l.is_empty());
        Ok(NewChannel {
            audience,
            url,
            format,
            secret,
            label,
        })
    }
}

/// A stored channel.
#[derive(Clone, Debug, Serialize)]
pub struct Channel {
    /// Its id (`civicprobe alerts remove` takes it).
    pub channel_id: Uuid,
    /// Whose alerts.
    #[serde(flatten)]
    pub audience: Audience,
    /// How shaped.
    pub format: Format,
    /// Where to; serialized masked.
    #[serde(serialize_with = "serialize_masked_url")]
    pub url: WebhookUrl,
    /// The signing secret; serialized as `"***"` or null.
    #[serde(serialize_with = "serialize_masked_secret")]
    pub secret: Option<Secret>,
    /// A name for people.
    pub label: Option<String>,
    /// When it was added.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

fn serialize_masked_url<S: serde::Serializer>(url: &WebhookUrl, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&url.masked())
}

fn serialize_masked_secret<S: serde::Serializer>(
    secret: &Option<Secret>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match secret {
        Some(_) => s.serialize_str("***"),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_formats_and_secrets_are_checked() {
        let sup = || Audience::Supervisors;
        for bad in [
            "ftp://x/y",
            "https://",
            "not a url",
            "file:///etc/passwd",
            "https://h/#x",
        ] {
            assert!(
                matches!(
                    NewChannel::parse(sup(), bad, "json", None, None),
                    Err(ChannelError::Url)
                ),
                "{bad}"
            );
        }
        let url = "https://oapi.dingtalk.com/robot/send?access_token=abc";
        assert!(matches!(
            NewChannel::parse(sup(), url, "slack", None, None),
            Err(ChannelError::Format)
        ));
        let json = NewChannel::parse(sup(), url, "json", None, None).unwrap();
        assert_eq!(json.secret.as_ref().map(|s| s.expose().len()), Some(64));
        let ding = NewChannel::parse(sup(), url, "dingtalk", None, Some(" 群\n ")).unwrap();
        assert!(ding.secret.is_none());
        assert_eq!(ding.label.as_deref(), Some("群"));
        assert!(matches!(
            NewChannel::parse(sup(), url, "wecom", Some("s"), None),
            Err(ChannelError::SecretNotUsed)
        ));
    }

    #[test]
    fn keys_and_secrets_are_masked() {
        let new = NewChannel::parse(
            Audience::Supervisors,
            "https://oapi.dingtalk.com/robot/send?access_token=tok123",
            "dingtalk",
            Some("SEC999"),
            None,
        )
        .unwrap();
        let shown = format!("{new:?}");
        assert!(
            !shown.contains("tok123") && !shown.contains("SEC999"),
            "{shown}"
        );
        assert!(shown.contains("access_token=***"), "{shown}");
    }
}
