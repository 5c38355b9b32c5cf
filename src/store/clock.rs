//! The store's clock: times as the index writes them (RFC 3339, UTC, milliseconds), so
//! that they sort as text.

use std::time::Duration;

/// The current time, RFC 3339 in UTC with milliseconds (sorts as text).
pub fn now() -> String {
    format_time(time::OffsetDateTime::now_utc())
}

/// The time `span` from now, as [`now`] writes it.
pub fn after(span: Duration) -> String {
    format_time(time::OffsetDateTime::now_utc() + span)
}

fn format_time(t: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.format(&format)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}
