//! Each format's request: the body its vendor documents, and its signature.
//!
//! Checked against the vendors' documentation (and the examples quoted in
//! guides of it), 2026-12:
//!
//! - **WeCom group robot** (企业微信群机器人, developer.work.weixin.qq.com
//!   document 90236 "群机器人配置说明"): POST JSON
//!   `{"msgtype":"markdown","markdown":{"content":"…"}}` to
//!   `https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…`; markdown
//!   content at most 4096 bytes, UTF-8; the answer is
//!   `{"errcode":0,"errmsg":"ok"}` on success. No signed mode: the key in
//!   the URL is the credential.
//! - **DingTalk custom robot** (open.dingtalk.com "自定义机器人安全设置" and
//!   "消息类型"): `{"msgtype":"markdown","markdown":{"title":"…","text":"…"}}`;
//!   加签: `sign = urlEncode(base64(HmacSHA256(key = secret, msg =
//!   timestamp + "\n" + secret)))`, timestamp in milliseconds, appended to
//!   the URL as `&timestamp=…&sign=…`; success is `errcode == 0`.
//! - **Feishu custom bot** (open.feishu.cn "自定义机器人使用指南"):
//!   `{"msg_type":"text","content":{"text":"…"}}`; 签名校验: the body also
//!   carries `"timestamp"` (seconds, as a string) and `"sign" =
//!   base64(HmacSHA256(key = timestamp + "\n" + secret, msg = ""))`;
//!   success is `code == 0` (older answers: `StatusCode == 0`).
//! - **json** (ours): the [`Alert`] as JSON; `X-Civicprobe-Signature:
//!   t=<unix s>,v1=<hex HMAC-SHA256(key = secret, msg = "<t>.<body>")>` and
//!   `X-Civicprobe-Delivery: <delivery id>` (the same on every retry, so a
//!   receiver can drop duplicates).
//!
//! The robots' text is short, Chinese first then English; the courier's
//! text is cleaned ([`super::alert::clean_text`]) and, for markdown,
//! escaped ([`super::message::escape_markdown`]).

use super::alert::Alert;
use super::channel::{Format, Secret};
use super::message::Text;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use time::{OffsetDateTime, UtcOffset};

/// The JSON channel's signature header.
pub const SIGNATURE_HEADER: &str = "X-Civicprobe-Signature";
/// The JSON channel's delivery id header.
pub const DELIVERY_HEADER: &str = "X-Civicprobe-Delivery";

/// One request, ready to POST.
#[derive(Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Where (may hold a key and a signature: never log it).
    pub url: String,
    /// Extra headers.
    pub headers: Vec<(&'static str, String)>,
    /// The JSON body.
    pub body: Vec<u8>,
}

impl std::fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outgoing")
            .field("url", &super::channel::masked_url(&self.url))
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

/// HMAC-SHA256 of `msg` under `key`.
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable_hmac(),
    };
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

#[cold]
fn unreachable_hmac() -> ! {
    panic!("HMAC-SHA256 takes keys of any length")
}

/// The request for `alert` on a channel of `format`, signed at `now`.
pub fn request(
    format: Format,
    url: &str,
    secret: Option<&Secret>,
    delivery_id: &str,
    alert: &Alert,
    now: OffsetDateTime,
    offset: UtcOffset,
) -> Result<Outgoing, serde_json::Error> {
    let text = Text::of(alert, offset);
    let mut out = Outgoing {
        url: url.to_owned(),
        headers: Vec::new(),
        body: Vec::new(),
    };
    match format {
        Format::Wecom => {
            let content = text.markdown();
            out.body = serde_json::to_vec(
                &serde_json::json!({"msgtype": "markdown", "markdown": {"content": content}}),
            )?;
        }
        Format::Dingtalk => {
            let body = serde_json::json!({"msgtype": "markdown",
                "markdown": {"title": text.title_plain(), "text": text.markdown()}});
            out.body = serde_json::to_vec(&body)?;
            if let Some(secret) = secret {
                out.url = dingtalk_signed_url(url, secret.expose(), now);
            }
        }
        Format::Feishu => {
            let mut body =
                serde_json::json!({"msg_type": "text", "content": {"text": text.plain()}});
            if let Some(secret) = secret {
                let ts = now.unix_timestamp();
                body["timestamp"] = ts.to_string().into();
                body["sign"] = feishu_sign(ts, secret.expose()).into();
            }
            out.body = serde_json::to_vec(&body)?;
        }
        Format::Json => {
            out.body = serde_json::to_vec(alert)?;
            let t = now.unix_timestamp();
            let key = secret.map_or("", Secret::expose);
            out.headers
                .push((SIGNATURE_HEADER, json_signature(key, t, &out.body)));
            out.headers.push((DELIVERY_HEADER, delivery_id.to_owned()));
        }
    }
    Ok(out)
}

/// DingTalk 加签: `url&timestamp=<ms>&sign=<urlencoded base64 HMAC>`.
pub fn dingtalk_signed_url(url: &str, secret: &str, now: OffsetDateTime) -> String {
    let ts = crate::time_ms::to_ms(now).to_string();
    let mac = hmac_sha256(secret.as_bytes(), format!("{ts}\n{secret}").as_bytes());
    let sign = base64::engine::general_purpose::STANDARD.encode(mac);
    match reqwest::Url::parse(url) {
        Ok(mut parsed) => {
            parsed
                .query_pairs_mut()
                .append_pair("timestamp", &ts)
                .append_pair("sign", &sign);
            parsed.to_string()
        }
        // Channels are stored parsed; this is not reached.
        Err(_) => url.to_owned(),
    }
}

/// Feishu 签名校验: base64(HmacSHA256(key = "<ts>\n<secret>", msg = "")).
pub fn feishu_sign(ts: i64, secret: &str) -> String {
    let mac = hmac_sha256(format!("{ts}\n{secret}").as_bytes(), b"");
    base64::engine::general_purpose::STANDARD.encode(mac)
}

/// `t=<t>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
pub fn json_signature(secret: &str, t: i64, body: &[u8]) -> String {
    let mut msg = format!("{t}.").into_bytes();
    msg.extend_from_slice(body);
    format!(
        "t={t},v1={}",
        hex::encode(hmac_sha256(secret.as_bytes(), &msg))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signatures_follow_the_vendor_recipes() {
        // DingTalk's published example: secret "this is secret".
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let url = dingtalk_signed_url(
            "https://oapi.dingtalk.com/robot/send?access_token=x",
            "this is secret",
            now,
        );
        assert!(
            url.starts_with(
                "https://oapi.dingtalk.com/robot/send?access_token=x&timestamp=1700000000000&sign="
            ),
            "{url}"
        );
        let sign = url.split("&sign=").nth(1).unwrap();
        assert!(
            !sign.contains(['+', '/', '=']),
            "the sign is url-encoded: {url}"
        );
        assert_eq!(
            json_signature("k", 5, b"{}"),
            format!("t=5,v1={}", hex::encode(hmac_sha256(b"k", b"5.{}")))
        );
    }
}
