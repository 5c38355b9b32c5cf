//! One module per command.

pub mod backup;
pub mod batch;
pub mod certify;
pub mod digitize;
mod files;
pub mod renew;
pub mod reuse;
pub mod serve;
pub mod settings;
pub mod sign;
pub mod store;
pub mod user;
pub mod verify;
pub mod worker;

/// The error's message with its causes, `: `-separated, each cause once (a message that
/// already ends with its cause's text does not repeat it).
pub fn report(error: &anyhow::Error) -> String {
    let mut message = error.to_string();
    for cause in error.chain().skip(1) {
        let text = cause.to_string();
        if !message.ends_with(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
    }
    message
}

#[cfg(test)]
mod tests {
    use anyhow::Context;

    #[derive(Debug, thiserror::Error)]
    #[error("register: {0}")]
    struct Wrapping(#[source] std::io::Error);

    #[test]
    fn a_report_names_each_cause_once() {
        let io = || std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let plain: anyhow::Result<()> = Err(io()).context("in.pdf: cannot read");
        assert_eq!(
            super::report(&plain.unwrap_err()),
            "in.pdf: cannot read: no such file"
        );
        // The wrapper's message already carries its source's: not repeated.
        let wrapped: anyhow::Result<()> = Err(Wrapping(io())).context("copy 7");
        assert_eq!(
            super::report(&wrapped.unwrap_err()),
            "copy 7: register: no such file"
        );
    }
}
