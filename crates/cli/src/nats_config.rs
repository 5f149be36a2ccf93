//! How every service reaches NATS: the server list and the credentials,
//! from flags or the environment, validated before anything connects.
//! Credentials found in a URL are taken out of it and handed to the client
//! as options, so that no log line (ours or the client's, at any level)
//! carries them; URLs are only ever shown masked.

use anyhow::{bail, Context};
use async_nats::{ConnectOptions, ServerAddr};
use std::path::PathBuf;

/// Where `up` looks for NATS when no server is configured.
pub const DEFAULT_URL: &str = "nats://127.0.0.1:4222";

/// The NATS flags every service shares (global: `civicprobe audit verify
/// --nats-url …` works as typed).
#[derive(Clone, clap::Args)]
pub struct NatsConfig {
    /// NATS servers, comma-separated or the flag repeated; the client fails
    /// over between them. Unset: `nats://127.0.0.1:4222`, and `up` starts
    /// its own `nats-server -js` if nothing answers there.
    #[arg(
        long = "nats-url",
        global = true,
        env = "NATS_URL",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub urls: Vec<String>,
    /// User name, with `--nats-password` (or in the URL: `nats://user:pw@host`).
    #[arg(long, global = true, env = "NATS_USER")]
    pub nats_user: Option<String>,
    /// The user's password.
    #[arg(long, global = true, env = "NATS_PASSWORD", hide_env_values = true)]
    pub nats_password: Option<String>,
    /// A token the server requires (`authorization { token }`).
    #[arg(long, global = true, env = "NATS_TOKEN", hide_env_values = true)]
    pub nats_token: Option<String>,
    /// A file holding an NKey seed (`SU…`).
    #[arg(long, global = true, env = "NATS_NKEY")]
    pub nats_nkey: Option<PathBuf>,
    /// A `.creds` file (a user JWT and its NKey seed).
    #[arg(long, global = true, env = "NATS_CREDS")]
    pub nats_creds: Option<PathBuf>,
    /// A CA certificate (PEM) the server's certificate must chain to; TLS
    /// is then required, as it is for `tls://` URLs.
    #[arg(long, global = true, env = "NATS_TLS_CA")]
    pub nats_tls_ca: Option<PathBuf>,
    /// The address tried when no server is configured (`NATS_URL` unset);
    /// `up` starts its own nats-server only if nothing answers there.
    #[arg(long = "nats-default-url", global = true, env = "CIVICPROBE_NATS_DEFAULT_URL", default_value = DEFAULT_URL)]
    pub default_url: String,
}

impl NatsConfig {
    /// One server, no other credentials than what its URL holds.
    pub fn from_url(url: impl Into<String>) -> Self {
        Self {
            urls: vec![url.into()],
            ..Self::default()
        }
    }

    /// Whether a server was configured (flag or `NATS_URL`).
    pub fn is_set(&self) -> bool {
        !self.urls.is_empty()
    }

    /// The configured servers (or the default one), masked, for messages.
    pub fn masked_urls(&self) -> String {
        let urls: &[String] = if self.is_set() {
            &self.urls
        } else {
            std::slice::from_ref(&self.default_url)
        };
        urls.iter()
            .map(|u| mask(u.trim()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The servers without their credentials, and the client options with
    /// every credential; each entry validated.
    pub async fn resolve(&self) -> anyhow::Result<(Vec<ServerAddr>, ConnectOptions)> {
        let (servers, in_urls) = self.servers()?;
        let options = self.options(in_urls).await?;
        Ok((servers, options))
    }

    fn servers(&self) -> anyhow::Result<(Vec<ServerAddr>, Option<Credentials>)> {
        let urls = if self.is_set() {
            self.urls.clone()
        } else {
            vec![self.default_url.clone()]
        };
        let mut servers = Vec::with_capacity(urls.len());
        let mut found: Option<Credentials> = None;
        for (i, raw) in urls.iter().enumerate() {
            let entry = format!("NATS_URL entry {} ({:?})", i + 1, mask(raw.trim()));
            let (url, credentials) = split_credentials(raw.trim());
            if url.is_empty() {
                bail!("{entry} is empty");
            }
            let server = url
                .parse::<ServerAddr>()
                .map_err(|e| anyhow::anyhow!("{entry} is invalid: {e}"))?;
            match (&found, credentials) {
                (Some(a), Some(b)) if *a != b => {
                    bail!("{entry} carries other credentials than an earlier entry: give one set")
                }
                (None, Some(c)) => found = Some(c),
                _ => {}
            }
            servers.push(server);
        }
        Ok((servers, found))
    }

    async fn options(&self, in_urls: Option<Credentials>) -> anyhow::Result<ConnectOptions> {
        let chosen = self.credentials(in_urls)?;
        let mut options = match chosen {
            None => ConnectOptions::new(),
            Some(Credentials::UserPassword(user, pass)) => {
                ConnectOptions::with_user_and_password(user, pass)
            }
            Some(Credentials::Token(token)) => ConnectOptions::with_token(token),
            Some(Credentials::NKey(path)) => {
                let seed = std::fs::read_to_string(&path)
                    .with_context(|| format!("reading the NKey seed {}", path.display()))?;
                ConnectOptions::with_nkey(seed.trim().to_owned())
            }
            Some(Credentials::CredsFile(path)) => ConnectOptions::with_credentials_file(&path)
                .await
                .with_context(|| format!("reading the NATS credentials {}", path.display()))?,
        };
        if let Some(ca) = &self.nats_tls_ca {
            if !ca.is_file() {
                bail!(
                    "--nats-tls-ca / NATS_TLS_CA: {} is not a file",
                    ca.display()
                );
            }
            options = options.add_root_certificates(ca.clone()).require_tls(true);
        }
        Ok(options)
    }

    /// The one way to authenticate, from the flags or the URLs; two at
    /// once is refused rather than one silently winning.
    fn credentials(&self, in_urls: Option<Credentials>) -> anyhow::Result<Option<Credentials>> {
        let user = match (&self.nats_user, &self.nats_password) {
            (Some(u), Some(p)) => Some(Credentials::UserPassword(u.clone(), p.clone())),
            (None, None) => None,
            (Some(_), None) => {
                bail!("--nats-user / NATS_USER needs --nats-password / NATS_PASSWORD")
            }
            (None, Some(_)) => {
                bail!("--nats-password / NATS_PASSWORD needs --nats-user / NATS_USER")
            }
        };
        let given: Vec<Credentials> = [
            user,
            self.nats_token.clone().map(Credentials::Token),
            self.nats_nkey.clone().map(Credentials::NKey),
            self.nats_creds.clone().map(Credentials::CredsFile),
            in_urls,
        ]
        .into_iter()
        .flatten()
        .collect();
        if given.len() > 1 {
            bail!(
                "more than one NATS credential given (user and password, token, NKey, \
                 .creds file, or credentials in NATS_URL): give one"
            );
        }
        Ok(given.into_iter().next())
    }
}

impl Default for NatsConfig {
    fn default() -> Self {
        Self {
            urls: Vec::new(),
            nats_user: None,
            nats_password: None,
            nats_token: None,
            nats_nkey: None,
            nats_creds: None,
            nats_tls_ca: None,
            default_url: DEFAULT_URL.to_owned(),
        }
    }
}

impl std::fmt::Debug for NatsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secret = |s: &Option<String>| s.as_ref().map(|_| "***");
        f.debug_struct("NatsConfig")
            .field("urls", &self.masked_urls())
            .field("nats_user", &self.nats_user)
            .field("nats_password", &secret(&self.nats_password))
            .field("nats_token", &secret(&self.nats_token))
            .field("nats_nkey", &self.nats_nkey)
            .field("nats_creds", &self.nats_creds)
            .field("nats_tls_ca", &self.nats_tls_ca)
            .finish()
    }
}

/// `url` fit for a log line.
pub fn mask(url: &str) -> String {
    civicprobe_tracker::mask_password(url)
}

/// One way to authenticate to NATS.
#[derive(PartialEq, Eq)]
enum Credentials {
    /// `user:password@` or `--nats-user`/`--nats-password`.
    UserPassword(String, String),
    /// `token@` or `--nats-token`.
    Token(String),
    /// `--nats-nkey`: the seed file.
    NKey(PathBuf),
    /// `--nats-creds`: the `.creds` file.
    CredsFile(PathBuf),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(***)")
    }
}

/// `url` without its user information (which ends at the last `@` before
/// the host), and that information percent-decoded.
fn split_credentials(url: &str) -> (String, Option<Credentials>) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_owned(), None);
    };
    let authority_end = rest.rfind('@');
    let Some(at) = authority_end.filter(|at| !rest[..*at].is_empty()) else {
        return (url.to_owned(), None);
    };
    let (userinfo, host) = (&rest[..at], &rest[at + 1..]);
    let credentials = match userinfo.split_once(':') {
        Some((user, pass)) => Credentials::UserPassword(decode(user), decode(pass)),
        None => Credentials::Token(decode(userinfo)),
    };
    (format!("{scheme}://{host}"), Some(credentials))
}

/// Percent-decoding (`%40` → `@`); invalid escapes are kept as they are.
fn decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        nats: NatsConfig,
    }

    #[test]
    fn credentials_leave_the_url() {
        let (url, c) = split_credentials("nats://civic:p@ss%2Fw@127.0.0.1:4222");
        assert_eq!(url, "nats://127.0.0.1:4222");
        assert_eq!(
            c,
            Some(Credentials::UserPassword("civic".into(), "p@ss/w".into()))
        );
        assert_eq!(format!("{c:?}"), "Some(Credentials(***))");
        let (url, c) = split_credentials("tls://s3cr3t@nats.example:4222");
        assert_eq!(url, "tls://nats.example:4222");
        assert_eq!(c, Some(Credentials::Token("s3cr3t".into())));
        assert_eq!(split_credentials("nats://127.0.0.1:4222").1, None);
        assert_eq!(decode("%zz%4"), "%zz%4");
        assert!(!mask("nats://civic:p@ss@h:1").contains("p@ss"));
    }

    #[test]
    fn a_list_by_commas_or_by_repeated_flags() {
        let by_commas = Cli::parse_from(["t", "--nats-url", "nats://a:1,nats://b:2"]).nats;
        let repeated =
            Cli::parse_from(["t", "--nats-url", "nats://a:1", "--nats-url", "nats://b:2"]).nats;
        assert_eq!(by_commas.urls, ["nats://a:1", "nats://b:2"]);
        assert_eq!(repeated.urls, by_commas.urls);
        assert_eq!(by_commas.servers().expect("valid").0.len(), 2);
        assert!(!Cli::parse_from(["t"]).nats.is_set());
    }

    #[test]
    fn a_bad_entry_is_named_and_masked() {
        let config = NatsConfig {
            urls: vec!["nats://a:1".into(), "http://u:hunter2@b:2".into()],
            ..NatsConfig::default()
        };
        let error = config
            .servers()
            .expect_err("http is no NATS scheme")
            .to_string();
        assert!(error.contains("entry 2"), "{error}");
        assert!(
            error.contains("b:2") && !error.contains("hunter2"),
            "{error}"
        );
        let empty = NatsConfig::from_url("nats://a:1,".split(',').nth(1).unwrap_or(""));
        assert!(empty
            .servers()
            .expect_err("empty")
            .to_string()
            .contains("empty"));
    }

    #[tokio::test]
    async fn two_ways_to_authenticate_are_refused() {
        let config = NatsConfig {
            nats_token: Some("t0k3n".into()),
            ..NatsConfig::from_url("nats://u:pw@a:1")
        };
        let error = config.resolve().await.expect_err("two").to_string();
        assert!(error.contains("more than one"), "{error}");
        let half = NatsConfig {
            nats_user: Some("civic".into()),
            ..NatsConfig::default()
        };
        assert!(half.resolve().await.is_err());
    }

    #[test]
    fn debug_masks_every_secret() {
        let config = NatsConfig {
            nats_user: Some("civic".into()),
            nats_password: Some("hunter2".into()),
            nats_token: Some("t0k3n".into()),
            ..NatsConfig::from_url("nats://u:s3cr3t@a:1")
        };
        let debug = format!("{config:?}");
        for secret in ["hunter2", "t0k3n", "s3cr3t"] {
            assert!(!debug.contains(secret), "{debug}");
        }
        assert!(debug.contains("civic"), "{debug}");
    }
}
