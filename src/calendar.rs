//! Dates as an office in Vietnam reads them: Asia/Ho_Chi_Minh time (UTC+7 all year, no
//! daylight saving time). Times are stored in UTC (RFC 3339); days are `YYYY-MM-DD`.

use time::{Date, Duration};

/// Vietnam's time zone (Asia/Ho_Chi_Minh): UTC+7 all year, no daylight saving time.
pub const VIETNAM: time::UtcOffset = match time::UtcOffset::from_hms(7, 0, 0) {
    Ok(offset) => offset,
    Err(_) => time::UtcOffset::UTC,
};

fn parse_utc(stored: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(stored, &time::format_description::well_known::Rfc3339).ok()
}

/// A stored UTC time (RFC 3339) as an office in Vietnam reads it: `dd/mm/yyyy HH:MM`
/// in Asia/Ho_Chi_Minh time; text that is not a time is shown as it is.
pub fn local_time(stored: &str) -> String {
    match parse_utc(stored) {
        Some(t) => {
            let t = t.to_offset(VIETNAM);
            format!(
                "{:02}/{:02}/{} {:02}:{:02}",
                t.day(),
                t.month() as u8,
                t.year(),
                t.hour(),
                t.minute()
            )
        }
        None => stored.to_string(),
    }
}

/// Today's date in Vietnam, `YYYY-MM-DD`.
pub fn local_today() -> String {
    time::OffsetDateTime::now_utc()
        .to_offset(VIETNAM)
        .date()
        .to_string()
}

/// The Vietnamese calendar day (`YYYY-MM-DD`) of a stored UTC time.
pub fn local_date(stored: &str) -> Option<String> {
    parse_utc(stored).map(|t| t.to_offset(VIETNAM).date().to_string())
}

/// A `YYYY-MM-DD` day as an office reads it, `dd/mm/yyyy` (other text as it is).
pub fn vietnamese_day(day: &str) -> String {
    match parse_day(day) {
        Some(d) => format!("{:02}/{:02}/{}", d.day(), d.month() as u8, d.year()),
        None => day.to_string(),
    }
}

/// Parses a `YYYY-MM-DD` day.
pub fn parse_day(text: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text, &format).ok().filter(|_| text.len() == 10)
}

/// `day` plus `days` days (saturating at the calendar's ends).
pub fn add_days(day: Date, days: i64) -> Date {
    day.checked_add(Duration::days(days))
        .unwrap_or(if days < 0 { Date::MIN } else { Date::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_vietnam() {
        assert_eq!(
            local_time("2026-11-29T18:05:09.123456789Z"),
            "30/11/2026 01:05"
        );
        assert_eq!(
            local_date("2026-11-29T18:05:09Z").as_deref(),
            Some("2026-11-30")
        );
        assert_eq!(local_time("không phải giờ"), "không phải giờ");
        assert_eq!(vietnamese_day("2026-03-07"), "07/03/2026");
    }
}
