//! Who the authorization matrix (`tests/authz.rs`) calls as: the kinds of
//! caller, their tokens (registered in one place), and a browser session.

use civicprobe_model::{CourierId, OfficeId};

/// Office X, whose area holds the fixtures' tickets.
pub const OFFICE_X: &str = "wenquan";
/// The second office, beside office X.
pub const OFFICE_Y: &str = "fushan";

/// Everyone the matrix calls as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caller {
    /// No credentials at all.
    None,
    /// A well-formed token nobody was given.
    Junk,
    /// The courier who reported the fixtures' tickets.
    CourierA,
    /// A courier whose reports were merged into A's tickets.
    CourierB,
    /// Office X, `wenquan`, whose area holds A's tickets.
    OfficeX,
    /// Office Y, `fushan`.
    OfficeY,
    /// A supervisor.
    Supervisor,
    /// Office X's session cookie, same Origin, without `X-CSRF-Token`.
    CookieNoCsrf,
    /// Office X's session cookie and CSRF token, `Origin: http://evil.example`.
    CookieForeignOrigin,
    /// Office X's session cookie, CSRF token and this site's Origin.
    Cookie,
}

impl Caller {
    /// Every caller, in the table's column order.
    pub const ALL: [Caller; 10] = [
        Caller::None,
        Caller::Junk,
        Caller::CourierA,
        Caller::CourierB,
        Caller::OfficeX,
        Caller::OfficeY,
        Caller::Supervisor,
        Caller::CookieNoCsrf,
        Caller::CookieForeignOrigin,
        Caller::Cookie,
    ];

    /// Whether the caller is office X's browser session.
    pub fn is_cookie(self) -> bool {
        matches!(
            self,
            Caller::CookieNoCsrf | Caller::CookieForeignOrigin | Caller::Cookie
        )
    }
}

/// The tokens, and the couriers' ids.
#[derive(Debug)]
pub struct People {
    pub courier_a: CourierId,
    pub a: String,
    pub courier_b: CourierId,
    pub b: String,
    pub office_x: String,
    pub office_y: String,
    pub supervisor: String,
    pub junk: String,
}

/// Registers everyone through the store: the one place to adapt when these
/// calls change (e.g. offices and supervisors gaining a person).
pub async fn register(store: &civicprobe_tracker::Store) -> anyhow::Result<People> {
    let (courier_a, a) = store.add_courier("Courier A").await?;
    let (courier_b, b) = store.add_courier("Courier B").await?;
    let office_x = store.add_office(&OfficeId::parse(OFFICE_X)?, None).await?;
    let office_y = store.add_office(&OfficeId::parse(OFFICE_Y)?, None).await?;
    let supervisor = store.add_supervisor("Supervisor S").await?;
    let junk = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    Ok(People {
        courier_a,
        a,
        courier_b,
        b,
        office_x,
        office_y,
        supervisor,
        junk,
    })
}

/// A signed-in browser: its cookies and the CSRF value its script sends.
#[derive(Clone, Debug)]
pub struct Session {
    /// `name=value; …` of every cookie the sign-in set.
    pub jar: String,
    /// The CSRF cookie's value.
    pub csrf: String,
}

/// Courier A's text (a marker no other report carries, for the leak check).
pub const A_TEXT: &str = "manhole cover missing 井盖没了 MARK-A-7f3c";
/// Courier B's text.
pub const B_TEXT: &str = "manhole cover missing again MARK-B-91d2";
/// The part of A's text no public answer outside Open311 may show but to A,
/// office X and supervisors.
pub const A_MARK: &str = "MARK-A-7f3c";
/// Likewise for B's text.
pub const B_MARK: &str = "MARK-B-91d2";

impl People {
    /// What `body` shows that `caller` may not see: the couriers' ids and
    /// texts, and the id of A's ticket `ticket_a` (office X's). Open311 is
    /// public: its descriptions are the couriers' texts, but it shows no
    /// courier id.
    pub fn leaks(
        &self,
        ticket_a: &str,
        caller: Caller,
        open311: bool,
        body: &str,
    ) -> Vec<&'static str> {
        let (a, b) = (self.courier_a.to_string(), self.courier_b.to_string());
        // (secret, what, seen by A, seen by B)
        let secrets = [
            (a.as_str(), "A's id", true, false),
            (A_MARK, "A's text", true, false),
            (b.as_str(), "B's id", false, true),
            (B_MARK, "B's text", false, true),
            (ticket_a, "office X's ticket", true, true),
        ];
        secrets
            .into_iter()
            .filter(|&(_, what, to_a, to_b)| match caller {
                _ if open311 => what.ends_with("'s id"),
                Caller::CourierA => !to_a,
                Caller::CourierB => !to_b,
                Caller::None | Caller::Junk | Caller::OfficeY => true,
                _ => false,
            })
            .filter(|(secret, ..)| body.contains(secret))
            .map(|(_, what, ..)| what)
            .collect()
    }
}
