//! Channels in the database (`alert_channels`): adding one (an office's
//! must be a known office), listing (all, one office's, one audience's)
//! and removing one with its deliveries not yet made.

use super::channel::{Audience, Channel, ChannelError, NewChannel, Secret, WebhookUrl};
use crate::time_ms::{from_ms, to_ms};
use crate::{Error, Store};
use civicprobe_model::OfficeId;
use sqlx::any::AnyRow;
use sqlx::Row;
use uuid::Uuid;

/// The columns [`channel_of_row`] reads.
pub(crate) const CHANNEL_COLUMNS: &str =
    "channel_id, audience, office_id, format, url, secret, label, created_at";

/// A stored row as a [`Channel`].
pub(crate) fn channel_of_row(row: &AnyRow) -> Result<Channel, Error> {
    let corrupt = |what: &str| Error::Corrupt(format!("alert channel {what}"));
    let audience = match row.try_get::<String, _>("audience")?.as_str() {
        "supervisors" => Audience::Supervisors,
        _ => Audience::Office(crate::tickets::rows::parsed(row, "office_id")?),
    };
    let format: String = row.try_get("format")?;
    let url: String = row.try_get("url")?;
    Ok(Channel {
        channel_id: crate::tickets::rows::parsed(row, "channel_id")?,
        audience,
        format: format.parse().map_err(|_| corrupt("format"))?,
        url: WebhookUrl::parse(&url).map_err(|_| corrupt("url"))?,
        secret: row
            .try_get::<Option<String>, _>("secret")?
            .map(Secret::from_stored),
        label: row.try_get("label")?,
        created_at: from_ms(row.try_get("created_at")?)?,
    })
}

impl Store {
    /// Adds a channel; an office's must be a known office.
    pub async fn add_alert_channel(&self, new: &NewChannel) -> Result<Channel, ChannelError> {
        let (audience, office) = match &new.audience {
            Audience::Office(office) => {
                if !self.office_known(office).await? {
                    return Err(ChannelError::UnknownOffice(office.clone()));
                }
                ("office", Some(office.as_str()))
            }
            Audience::Supervisors => ("supervisors", None),
        };
        let channel = Channel {
            channel_id: Uuid::now_v7(),
            audience: new.audience.clone(),
            format: new.format,
            url: new.url.clone(),
            secret: new.secret.clone(),
            label: new.label.clone(),
            created_at: self.now(),
        };
        sqlx::query(
            "INSERT INTO alert_channels (channel_id, audience, office_id, format, url, secret, \
             label, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(channel.channel_id.to_string())
        .bind(audience)
        .bind(office)
        .bind(channel.format.as_str())
        .bind(channel.url.expose())
        .bind(channel.secret.as_ref().map(Secret::expose))
        .bind(channel.label.as_deref())
        .bind(to_ms(channel.created_at))
        .execute(self.pool())
        .await
        .map_err(Error::from)?;
        tracing::info!(channel_id = %channel.channel_id, url = %channel.url.masked(), format = %channel.format, "alert channel added");
        Ok(channel)
    }

    /// Every channel, or only `office`'s, oldest first.
    pub async fn alert_channels(&self, office: Option<&OfficeId>) -> Result<Vec<Channel>, Error> {
        self.channels_where(
            "$1 = '' OR (audience = 'office' AND office_id = $1)",
            office,
        )
        .await
    }

    /// The channels of one office (`Some`) or of the supervisors (`None`).
    pub async fn channels_of_audience(
        &self,
        office: Option<&OfficeId>,
    ) -> Result<Vec<Channel>, Error> {
        self.channels_where(
            "(audience = 'office' AND office_id = $1) OR (audience = 'supervisors' AND $1 = '')",
            office,
        )
        .await
    }

    /// The channels `condition` (over `$1`: the office id or '') selects.
    async fn channels_where(
        &self,
        condition: &'static str,
        office: Option<&OfficeId>,
    ) -> Result<Vec<Channel>, Error> {
        sqlx::query(&format!(
            "SELECT {CHANNEL_COLUMNS} FROM alert_channels WHERE {condition} \
             ORDER BY created_at, channel_id"
        ))
        .bind(office.map_or("", OfficeId::as_str))
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(channel_of_row)
        .collect()
    }

    /// Removes a channel and its deliveries not yet made, in one
    /// transaction; delivered and failed ones stay as history. Whether it
    /// existed.
    pub async fn remove_alert_channel(&self, channel_id: Uuid) -> Result<bool, Error> {
        let mut tx = self.pool().begin().await?;
        let id = channel_id.to_string();
        sqlx::query("DELETE FROM alert_deliveries WHERE channel_id = $1 AND state = 'pending'")
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        let removed = sqlx::query("DELETE FROM alert_channels WHERE channel_id = $1")
            .bind(&id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(removed > 0)
    }
}
